'use client';

import { useI18n } from '@/i18n/I18nProvider';
import { JobList } from './JobList';

/**
 * The jobs page. Training UI lands here: a start-job form goes above the list (it should call
 * the list's reload after POSTing), and a job's live loss curve goes in a detail view drawn with
 * LineChart from its metrics.
 */
export function JobsPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('jobs.title')}</h2>
      </div>
      <JobList />
    </div>
  );
}
