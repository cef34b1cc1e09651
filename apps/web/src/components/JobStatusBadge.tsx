'use client';

import type { Job } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';

/** A job's status in words; a running job whose cancel was asked for says so. */
export function JobStatusBadge({ job }: { job: Pick<Job, 'status' | 'cancelRequested'> }) {
  const { t } = useI18n();
  const canceling = job.cancelRequested && (job.status === 'running' || job.status === 'queued');
  return (
    <span className={`badge badge-job-${job.status}`} data-status={job.status}>
      {canceling ? t('jobs.status.canceling') : t(`jobs.status.${job.status}` as MessageKey)}
    </span>
  );
}
