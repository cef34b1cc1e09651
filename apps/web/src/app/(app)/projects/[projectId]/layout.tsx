import type { ReactNode } from 'react';
import type { ProjectResponse } from '@jielong/shared';
import { serverApi } from '@/lib/server';
import { LoadError } from '@/components/LoadError';
import { ProjectProvider } from '@/components/ProjectContext';
import { ProjectTabs } from '@/components/ProjectTabs';

export default async function ProjectLayout({ children, params }: { children: ReactNode; params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  const res = await serverApi<ProjectResponse>(`/v1/projects/${encodeURIComponent(projectId)}`);
  if (!res.ok) return <LoadError status={res.status === 400 ? 404 : res.status} />;
  return (
    <ProjectProvider project={res.data.project}>
      <ProjectTabs />
      {children}
    </ProjectProvider>
  );
}
