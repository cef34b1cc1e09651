'use client';

import type { ReactNode } from 'react';
import { canOpen } from '@/lib/access';
import { LoadError } from './LoadError';
import { useProject } from './ProjectContext';

/** A project page renders only for roles that may open it (the API would refuse the rest). */
export function RoleGate({ page, children }: { page: string; children: ReactNode }) {
  const { project } = useProject();
  if (!canOpen(page, project.myRoles, project)) return <LoadError status={403} />;
  return children;
}
