'use client';

import type { DemonstrationStatus } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';

export function StatusBadge({ status }: { status: DemonstrationStatus }) {
  const { t } = useI18n();
  return <span className={`badge badge-${status}`}>{t(`contrib.status.${status}`)}</span>;
}
