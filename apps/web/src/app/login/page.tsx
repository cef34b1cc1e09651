import { redirect } from 'next/navigation';
import { getMe } from '@/lib/server';
import { LoginForm } from '@/components/LoginForm';

/** Only a path on this site: never an absolute or protocol-relative URL from the query string. */
function safeNext(next: string | string[] | undefined): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = safeNext((await searchParams).next);
  const me = await getMe();
  if (me.ok) redirect(next);
  return <LoginForm next={next} />;
}
