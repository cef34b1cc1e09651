import type { ProjectListResponse } from '@jielong/shared';
import { getMe, serverApi } from '@/lib/server';
import { ProjectList } from '@/components/ProjectList';
import { LoadError } from '@/components/LoadError';

export default async function HomePage() {
  const [me, projects] = await Promise.all([getMe(), serverApi<ProjectListResponse>('/v1/projects')]);
  if (!projects.ok || !me.ok) return <LoadError status={projects.ok ? 0 : projects.status} />;
  const roles = me.data.user.roles;
  return <ProjectList projects={projects.data.items} canCreate={roles.includes('admin') || roles.includes('researcher')} />;
}
