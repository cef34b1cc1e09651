import { redirect } from 'next/navigation';
import type { ProjectResponse } from '@jielong/shared';
import { serverApi } from '@/lib/server';
import { pagesFor } from '@/lib/access';
import { LoadError } from '@/components/LoadError';

/** A bare project link opens the first page the user's roles allow. */
export default async function ProjectIndex({ params }: { params: Promise<{ projectId: string }> }) {
  const { projectId } = await params;
  const res = await serverApi<ProjectResponse>(`/v1/projects/${encodeURIComponent(projectId)}`);
  if (!res.ok) return <LoadError status={res.status} />;
  const first = pagesFor(res.data.project.myRoles, res.data.project)[0];
  if (!first) return <LoadError status={403} />;
  redirect(`/projects/${projectId}/${first.slug}`);
}
