'use client';

import type { DashboardResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { LineChart } from './LineChart';
import { useProject } from './ProjectContext';

export function Dashboard() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<DashboardResponse>(`/v1/projects/${project.id}/dashboard?days=30`);
  const base = `/v1/projects/${project.id}/export`;
  const exports = [
    { href: `${base}/sft?format=prompt-completion`, label: 'SFT · prompt/completion', file: 'sft-prompt-completion.jsonl' },
    { href: `${base}/sft?format=messages`, label: 'SFT · messages', file: 'sft-messages.jsonl' },
    { href: `${base}/preferences`, label: 'Preferences · prompt/chosen/rejected', file: 'preferences.jsonl' },
  ];

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('dash.title')}</h2>
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && (
        <>
          <ul className="stat-grid">
            <Stat label={t('dash.prompts')} value={data.totals.prompts} />
            <Stat
              label={t('dash.demonstrations')}
              value={data.totals.demonstrations.submitted + data.totals.demonstrations.accepted + data.totals.demonstrations.rejected}
              detail={`${t('dash.accepted')}: ${data.totals.demonstrations.accepted}`}
            />
            <Stat label={t('dash.comparisons')} value={data.totals.comparisons.open + data.totals.comparisons.complete} />
            <Stat label={t('dash.rankings')} value={data.totals.rankings} />
            <Stat
              label={t('dash.agreement')}
              value={data.agreement.rate === null ? '—' : `${Math.round(data.agreement.rate * 100)}%`}
              detail={data.agreement.rate === null ? t('dash.agreementNone') : `${data.agreement.agreedPairs}/${data.agreement.comparedPairs}`}
              testId="agreement"
            />
          </ul>
          <section className="card">
            <h3>{t('dash.overTime')}</h3>
            {data.daily.some((d) => d.prompts + d.demonstrations + d.rankings > 0) ? (
              <LineChart
                title={t('dash.overTime')}
                formatX={(i) => data.daily[i]?.date.slice(5) ?? ''}
                series={[
                  { label: t('dash.prompts'), color: 'var(--c1)', points: data.daily.map((d, i) => ({ x: i, y: d.prompts })) },
                  { label: t('dash.demonstrations'), color: 'var(--c2)', points: data.daily.map((d, i) => ({ x: i, y: d.demonstrations })) },
                  { label: t('dash.rankings'), color: 'var(--c3)', points: data.daily.map((d, i) => ({ x: i, y: d.rankings })) },
                ]}
              />
            ) : (
              <p className="empty">{t('dash.noData')}</p>
            )}
            <p className="muted small">{t('dash.agreementHelp')}</p>
          </section>
        </>
      )}
      <section className="card">
        <h3>{t('dash.export')}</h3>
        <div className="button-row wrap">
          {exports.map((e) => (
            <a key={e.href} className="btn" href={e.href} download={`${project.name.replace(/[^\p{L}\p{N}._-]+/gu, '_')}-${e.file}`}>
              ⤓ {e.label}
            </a>
          ))}
        </div>
      </section>
    </div>
  );
}

function Stat({ label, value, detail, testId }: { label: string; value: number | string; detail?: string; testId?: string }) {
  return (
    <li className="card stat" data-testid={testId}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
      {detail && <span className="muted small">{detail}</span>}
    </li>
  );
}
