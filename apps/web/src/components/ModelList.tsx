'use client';

import type { ModelListResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { useProject } from './ProjectContext';

/** Numbers from a model's metrics (final loss, accuracy…), the first few, for the table. */
function metricSummary(metrics: Record<string, unknown>): string {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number')
    .slice(0, 3)
    .map(([k, v]) => `${k} ${Number(v).toPrecision(3)}`)
    .join(' · ');
}

export function ModelList() {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<ModelListResponse>(`/v1/projects/${project.id}/models`);
  const names = new Map(data?.items.map((m) => [m.id, m.name]));

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('models.title')}</h2>
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && data.items.length === 0 && <p className="empty">{t('models.empty')}</p>}
      {data && data.items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>{t('models.name')}</th>
                <th>{t('models.kind')}</th>
                <th>{t('models.parent')}</th>
                <th>{t('models.created')}</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.id}>
                  <td>
                    <strong>{m.name}</strong>
                    {metricSummary(m.metrics) && <div className="muted small">{metricSummary(m.metrics)}</div>}
                  </td>
                  <td>
                    <code>{m.kind}</code>
                  </td>
                  <td>{m.parentId ? (names.get(m.parentId) ?? m.parentId.slice(0, 8)) : '—'}</td>
                  <td className="small">{new Date(m.createdAt).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
