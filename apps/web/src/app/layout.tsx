import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { I18nProvider } from '@/i18n/I18nProvider';
import { getLocale, getMe } from '@/lib/server';
import { TopBar } from '@/components/TopBar';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Jielong 接龙', template: '%s · Jielong 接龙' },
  description: 'A human-feedback studio for training small language models',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const me = await getMe();
  const user = me.ok ? me.data : null;
  const locale = await getLocale(user);
  return (
    <html lang={locale === 'zh' ? 'zh-CN' : 'en'}>
      <body>
        <I18nProvider initialLocale={locale} loggedIn={!!user}>
          <TopBar me={user} apiDown={!me.ok && me.status !== 401} />
          <main className="main">{children}</main>
        </I18nProvider>
      </body>
    </html>
  );
}
