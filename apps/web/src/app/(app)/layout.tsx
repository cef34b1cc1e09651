import type { ReactNode } from 'react';
import { redirect } from 'next/navigation';
import { getMe } from '@/lib/server';

// Everything in this group needs a session; the login page lives outside it.
export default async function SignedInLayout({ children }: { children: ReactNode }) {
  const me = await getMe();
  if (!me.ok && me.status === 401) redirect('/login');
  return children;
}
