'use client';

import { createContext, useContext, useState, type ReactNode } from 'react';
import type { Project } from '@jielong/shared';

interface ProjectState {
  project: Project;
  /** after the settings page saves, so guidelines etc. update everywhere without a reload */
  setProject: (p: Project) => void;
}

const ProjectContext = createContext<ProjectState | null>(null);

export function ProjectProvider({ project, children }: { project: Project; children: ReactNode }) {
  const [current, setProject] = useState(project);
  return <ProjectContext.Provider value={{ project: current.id === project.id ? current : project, setProject }}>{children}</ProjectContext.Provider>;
}

export function useProject(): ProjectState {
  const ctx = useContext(ProjectContext);
  if (!ctx) throw new Error('useProject outside ProjectProvider');
  return ctx;
}
