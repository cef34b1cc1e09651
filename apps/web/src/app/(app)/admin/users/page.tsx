import { getMe } from '@/lib/server';
import { LoadError } from '@/components/LoadError';
import { UsersAdmin } from '@/components/UsersAdmin';

export default async function UsersPage() {
  const me = await getMe();
  if (!me.ok) return <LoadError status={me.status} />;
  if (!me.data.user.roles.includes('admin')) return <LoadError status={403} />;
  return <UsersAdmin />;
}
