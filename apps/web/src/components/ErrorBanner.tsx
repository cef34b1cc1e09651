'use client';

import Link from 'next/link';
import { useI18n } from '@/i18n/I18nProvider';
import { ApiError } from '@/lib/api';
import { errorText } from '@/lib/errors';

/** A failed request, said plainly, with a retry when there is something to retry. */
export function ErrorBanner({
  error,
  onRetry,
  retryLabel,
  template,
}: {
  error: unknown;
  onRetry?: () => void;
  retryLabel?: string;
  template?: 'write.submitFailed' | 'rank.submitFailed';
}) {
  const { t } = useI18n();
  const status = error instanceof ApiError ? error.status : -1;
  const text = template
    ? t(template, { message: status === 0 ? t('common.unreachable') : errorText(error, t).replace(/[.。]\s*$/, '') })
    : status === 0
      ? t('common.networkError')
      : errorText(error, t);
  return (
    <div className="banner banner-error" role="alert">
      <span>{text}</span>
      {status === 401 ? (
        <Link className="btn btn-small" href="/login">
          {t('login.title')}
        </Link>
      ) : (
        onRetry && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            {retryLabel ?? t('common.retry')}
          </button>
        )
      )}
    </div>
  );
}
