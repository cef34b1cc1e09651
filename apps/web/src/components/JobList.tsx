'use client';

import { useEffect } from 'react';
import type { Job, JobListResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { useProject } from './ProjectContext';

const LIVE: Job['status'][] = ['queued', 'running'];

/** The project's training jobs, newest first; refreshes itself while any job is still live. */
export function JobList() {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<JobListResponse>(`/v1/projects/${project.id}/jobs?limit=100`);
  const live = !!data?.items.some((j) => LIVE.includes(j.status));

  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => void reload(), 5000);
    return () => clearInterval(timer);
  }, [live, reload]);

  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en') : '—');

  return (
    <section>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && data.items.length === 0 && <p className="empty">{t('jobs.empty')}</p>}
      {data && data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>{t('jobs.kind')}</th>
                <th>{t('jobs.status')}</th>
                <th>{t('jobs.progress')}</th>
                <th>{t('jobs.created')}</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((j) => (
                <tr key={j.id} data-job-id={j.id}>
                  <td>
                    <code>{j.kind}</code>
                  </td>
                  <td>
                    <span className={`badge badge-job-${j.status}`}>{j.status}</span>
                    {j.error && <p className="form-error small">{j.error.message}{j.error.suggestion ? ` — ${j.error.suggestion}` : ''}</p>}
                  </td>
                  <td>
                    <progress max={1} value={j.progress} aria-label={t('jobs.progress')} /> <span className="small">{Math.round(j.progress * 100)}%</span>
                  </td>
                  <td className="small">{when(j.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
