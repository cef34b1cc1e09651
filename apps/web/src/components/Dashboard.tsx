'use client';

import Link from 'next/link';
import { useEffect } from 'react';
import type { DashboardResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { LineChart } from './LineChart';
import { useProject } from './ProjectContext';

const CATCH_UP_POLL_MS = 3000;

/** Running totals per day: the window's daily counts, ending at today's total. */
function runningTotals(daily: number[], total: number): number[] {
  let before = total - daily.reduce((a, b) => a + b, 0);
  return daily.map((n) => (before += n));
}

export function Dashboard() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<DashboardResponse>(`/v1/projects/${project.id}/dashboard?days=30`);
  // recent work still being counted (in the background, within seconds): ask again until it is
  useEffect(() => {
    if (!data || data.upToDate) return;
    const again = setTimeout(() => void reload(), CATCH_UP_POLL_MS);
    return () => clearTimeout(again);
  }, [data, reload]);
  const base = `/v1/projects/${project.id}/export`;
  const fileStem = project.name.replace(/[^\p{L}\p{N}._-]+/gu, '_');

  const demonstrations = data ? data.totals.demonstrations.submitted + data.totals.demonstrations.accepted + data.totals.demonstrations.rejected : 0;
  const series = data && [
    { key: 'dash.prompts', color: 'var(--c1)', values: runningTotals(data.daily.map((d) => d.prompts), data.totals.prompts) },
    { key: 'dash.demonstrations', color: 'var(--c2)', values: runningTotals(data.daily.map((d) => d.demonstrations), demonstrations) },
    { key: 'dash.rankings', color: 'var(--c3)', values: runningTotals(data.daily.map((d) => d.rankings), data.totals.rankings) },
  ] as const;

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('dash.title')}</h2>
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && !data.upToDate && (
        <p className="muted" role="status" data-testid="dash-catching-up">
          {t('dash.catchingUp')}
        </p>
      )}
      {data && series && (
        <>
          <ul className="stat-grid">
            <Stat label={t('dash.prompts')} value={data.totals.prompts} testId="stat-prompts" />
            <Stat label={t('dash.demonstrations')} value={demonstrations} testId="stat-demonstrations" detail={`${t('dash.accepted')}: ${data.totals.demonstrations.accepted} · ${t('dash.waiting')}: ${data.totals.demonstrations.submitted}`} />
            <Stat label={t('dash.comparisons')} testId="stat-comparisons" value={data.totals.comparisons.open + data.totals.comparisons.complete} detail={`${t('dash.complete')}: ${data.totals.comparisons.complete}`} />
            <Stat label={t('dash.rankings')} value={data.totals.rankings} testId="stat-rankings" />
            <Stat
              label={t('dash.agreement')}
              value={data.agreement.rate === null ? '—' : `${Math.round(data.agreement.rate * 100)}%`}
              detail={data.agreement.rate === null ? t('dash.agreementNone') : t('dash.agreementPairs', { agreed: data.agreement.agreedPairs, compared: data.agreement.comparedPairs })}
              help={t('dash.agreementHelp')}
              testId="stat-agreement"
            />
            <Stat
              label={t('dash.alpha')}
              value={data.reliability.alpha === null ? '—' : data.reliability.alpha.toFixed(2)}
              detail={data.reliability.alpha === null ? t('dash.alphaNone') : t('dash.alphaUnits', { units: data.reliability.units })}
              help={t('dash.alphaHelp')}
              testId="stat-alpha"
            />
          </ul>
          <section className="card">
            <h3>{t('dash.overTime')}</h3>
            {series.some((s) => s.values.some((v) => v > 0)) ? (
              <LineChart
                integer
                title={t('dash.overTime')}
                formatX={(i) => data.daily[i]?.date.slice(5) ?? ''}
                series={series.map((s) => ({ label: t(s.key), color: s.color, points: s.values.map((y, x) => ({ x, y })) }))}
              />
            ) : (
              <p className="empty">
                {t('dash.noData')} <Link href={`/projects/${project.id}/import`}>{t('dash.importLink')}</Link>
              </p>
            )}
          </section>
          {data.reliability.daily.some((d) => d.alpha !== null) && (
            <section className="card" data-testid="alpha-over-time">
              <h3>{t('dash.alphaOverTime')}</h3>
              <LineChart
                fromZero={false}
                title={t('dash.alphaOverTime')}
                formatX={(i) => data.daily[i]?.date.slice(5) ?? ''}
                series={[
                  {
                    label: t('dash.alpha'),
                    color: 'var(--c1)',
                    points: data.reliability.daily.flatMap((d, x) => (d.alpha === null ? [] : [{ x, y: d.alpha }])),
                  },
                ]}
              />
            </section>
          )}
        </>
      )}
      <section className="card">
        <h3>{t('dash.export')}</h3>
        <div className="export-rows">
          <div>
            <strong>{t('dash.exportSft')}</strong>
            <div className="button-row">
              <a className="btn" href={`${base}/sft?format=prompt-completion`} download={`${fileStem}-sft-prompt-completion.jsonl`}>
                ⤓ prompt / completion
              </a>
              <a className="btn" href={`${base}/sft?format=messages`} download={`${fileStem}-sft-messages.jsonl`}>
                ⤓ messages
              </a>
              <a className="btn" href={`${base}/sft?format=conversational`} download={`${fileStem}-sft-conversational.jsonl`}>
                ⤓ {t('dialogue.exportConversational')}
              </a>
            </div>
          </div>
          <div>
            <strong>{t('dash.exportPrefs')}</strong>
            <div className="button-row">
              <a className="btn" href={`${base}/preferences`} download={`${fileStem}-preferences.jsonl`}>
                ⤓ prompt / chosen / rejected
              </a>
              <a className="btn" href={`${base}/preferences?format=conversational`} download={`${fileStem}-preferences-conversational.jsonl`}>
                ⤓ {t('dialogue.exportConversational')}
              </a>
            </div>
          </div>
          <div>
            <strong>{t('dash.exportUnpaired')}</strong>
            <div className="button-row">
              <a className="btn" href={`${base}/unpaired`} download={`${fileStem}-unpaired.jsonl`}>
                ⤓ prompt, completion, label
              </a>
              <a className="btn" href={`${base}/unpaired?format=conversational`} download={`${fileStem}-unpaired-conversational.jsonl`}>
                ⤓ {t('dialogue.exportConversational')}
              </a>
            </div>
          </div>
          <div>
            <strong>{t('dash.exportRatings')}</strong>
            <div className="button-row">
              <a className="btn" href={`${base}/ratings`} download={`${fileStem}-ratings.jsonl`}>
                ⤓ prompt, completion, labels
              </a>
            </div>
          </div>
        </div>
      </section>
    </div>
  );
}

function Stat({ label, value, detail, help, testId }: { label: string; value: number | string; detail?: string; help?: string; testId?: string }) {
  return (
    <li className="card stat" data-testid={testId} title={help}>
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId && `${testId}-value`}>
        {value}
      </span>
      {detail && <span className="muted small">{detail}</span>}
    </li>
  );
}
