import { redirect } from 'next/navigation';
import { getMe } from '@/lib/server';
import { LoginForm } from '@/components/LoginForm';

export default async function LoginPage() {
  const me = await getMe();
  if (me.ok) redirect('/');
  return <LoginForm />;
}
