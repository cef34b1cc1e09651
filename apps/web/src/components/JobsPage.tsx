'use client';

import { useI18n } from '@/i18n/I18nProvider';
import { JobList } from './JobList';
import { StartJobForm } from './StartJobForm';

/** The jobs page: the start form (the page is for researchers and admins only) above the project's jobs. */
export function JobsPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('jobs.title')}</h2>
      </div>
      <StartJobForm />
      <JobList />
    </div>
  );
}
