'use client';

import { useEffect, useRef } from 'react';
import { useI18n } from '@/i18n/I18nProvider';
import { isLive } from '@/lib/jobs';
import { useJobEvents } from '@/lib/useJobEvents';
import { JobStatusBadge } from './JobStatusBadge';

/** One job's status and progress bar, live; `onFinished` runs once when it stops running. */
export function JobProgress({ jobId, onFinished }: { jobId: string; onFinished?: () => void }) {
  const { t } = useI18n();
  const { job } = useJobEvents(jobId);
  const told = useRef(false);
  useEffect(() => {
    if (job && !isLive(job) && !told.current) {
      told.current = true;
      onFinished?.();
    }
  }, [job, onFinished]);
  if (!job) return <p className="muted small">{t('common.loading')}</p>;
  return (
    <div className="job-progress" data-job-id={job.id}>
      <JobStatusBadge job={job} /> <progress value={job.progress} max={1} aria-label={t('jobs.progress')} />
      {job.error && <p className="field-error">{job.error.message}{job.error.suggestion ? ` (${job.error.suggestion})` : ''}</p>}
    </div>
  );
}
