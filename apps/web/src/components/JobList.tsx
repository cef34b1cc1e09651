'use client';

import { useEffect } from 'react';
import Link from 'next/link';
import type { JobListResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { isLive, jobName } from '@/lib/jobs';
import { reasonText } from '@/lib/reasons';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { JobStatusBadge } from './JobStatusBadge';
import { useProject } from './ProjectContext';

/** The project's training jobs, newest first; refreshes itself while any job is still live. */
export function JobList() {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<JobListResponse>(`/v1/projects/${project.id}/jobs?limit=100`);
  const live = !!data?.items.some(isLive);

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
          <table className="table job-table">
            <thead>
              <tr>
                <th>{t('jobs.job')}</th>
                <th>{t('jobs.status')}</th>
                <th>{t('jobs.progress')}</th>
                <th>{t('jobs.created')}</th>
                <th className="wide-only">{t('jobs.started')}</th>
                <th className="wide-only">{t('jobs.finished')}</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((j) => (
                <tr key={j.id} data-job-id={j.id}>
                  <td>
                    <Link href={`/projects/${project.id}/jobs/${j.id}`} className="job-link">
                      {t(`jobs.kind.${j.kind}` as MessageKey)}
                    </Link>
                    <div className="muted small job-name">{jobName(j, t, locale)}</div>
                  </td>
                  <td>
                    <JobStatusBadge job={j} />
                    {j.error && j.status !== 'succeeded' && <p className="form-error small">{reasonText(j.error, t)}</p>}
                  </td>
                  <td className="nowrap">
                    <progress max={1} value={j.progress} aria-label={t('jobs.progress')} /> <span className="small">{Math.round(j.progress * 100)}%</span>
                  </td>
                  <td className="small">{when(j.createdAt)}</td>
                  <td className="small wide-only">{when(j.startedAt)}</td>
                  <td className="small wide-only">{when(j.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
