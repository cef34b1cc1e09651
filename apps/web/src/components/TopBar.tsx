'use client';

import Link from 'next/link';
import type { MeResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { api } from '@/lib/api';
import { LanguageSwitch } from './LanguageSwitch';

export function TopBar({ me, apiDown }: { me: MeResponse | null; apiDown: boolean }) {
  const { t } = useI18n();

  async function logout() {
    await api('/v1/auth/logout', { method: 'POST' }).catch(() => {});
    // A full page load, as after logging in: no page cached for the old session survives.
    window.location.replace('/login');
  }

  return (
    <header className="topbar">
      <Link href="/" className="brand">
        <span className="brand-mark" aria-hidden>
          接
        </span>
        <span>{t('app.name')}</span>
      </Link>
      <nav className="topbar-links" aria-label={t('nav.menu')}>
        {me && <Link href="/">{t('nav.projects')}</Link>}
        {me?.user.roles.includes('admin') && <Link href="/admin/users">{t('nav.users')}</Link>}
        {me && (
          <a href="/docs" target="_blank" rel="noreferrer">
            {t('nav.apiDocs')}
          </a>
        )}
      </nav>
      <div className="topbar-user">
        <LanguageSwitch />
        {me && (
          <>
            <span className="user-name" title={me.user.email}>
              {me.user.displayName}
            </span>
            <button type="button" className="btn btn-quiet" onClick={logout}>
              {t('nav.logout')}
            </button>
          </>
        )}
      </div>
      {apiDown && (
        <p className="banner banner-error" role="alert">
          {t('common.networkError')}
        </p>
      )}
    </header>
  );
}
