'use client';

import Link from 'next/link';
import { useI18n } from '@/i18n/I18nProvider';

/** What a page shows when the API refused or could not be reached while rendering it. */
export function LoadError({ status, message }: { status: number; message?: string }) {
  const { t } = useI18n();
  const text =
    status === 0 ? t('common.networkError') : status === 403 ? t('common.notAllowed') : status === 404 ? t('common.notFound') : (message ?? t('common.error'));
  return (
    <div className="page">
      <p className="banner banner-error" role="alert">
        {text}
      </p>
      {status === 401 && <Link href="/login">{t('login.title')}</Link>}
    </div>
  );
}
