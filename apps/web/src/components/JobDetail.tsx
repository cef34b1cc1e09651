'use client';

import { useState } from 'react';
import Link from 'next/link';
import type { Job, JobMetric, ModelListResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { api } from '@/lib/api';
import { CURVES, formatDuration, isLive, jobName, KNOWN_CODES, latest, points, timeSplit } from '@/lib/jobs';
import { fixText, logText, reasonText } from '@/lib/reasons';
import { useApiData } from '@/lib/useApiData';
import { useJobEvents } from '@/lib/useJobEvents';
import { ErrorBanner } from './ErrorBanner';
import { JobStatusBadge } from './JobStatusBadge';
import { LineChart } from './LineChart';
import { ModelPreference } from './ModelPreference';
import { useProject } from './ProjectContext';

/** One job: status, live curves (over SSE), why it failed, its log; cancel while it is live. */
export function JobDetail({ jobId }: { jobId: string }) {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { job, setJob, metrics, logs, error, connection, reconnect } = useJobEvents(jobId);
  // input models by name, not id
  const models = useApiData<ModelListResponse>(`/v1/projects/${project.id}/models`);
  const inputNames = (job?.inputModelIds ?? []).map((id) => models.data?.items.find((m) => m.id === id)?.name ?? '…');
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [canceling, setCanceling] = useState(false);

  async function cancel() {
    setCanceling(true);
    setCancelError(null);
    try {
      setJob((await api<{ job: Job }>(`/v1/jobs/${jobId}/cancel`, { method: 'POST' })).job);
    } catch (err) {
      setCancelError(err);
    } finally {
      setCanceling(false);
    }
  }

  const back = (
    <Link href={`/projects/${project.id}/jobs`} className="back-link">
      ← {t('jobs.title')}
    </Link>
  );
  if (!job) {
    return (
      <div className="page">
        {back}
        {error != null ? <ErrorBanner error={error} onRetry={reconnect} /> : <p className="muted">{t('common.loading')}</p>}
      </div>
    );
  }

  const live = isLive(job);
  return (
    <div className="page job-detail">
      {back}
      <div className="page-head">
        <h2>
          {t(`jobs.kind.${job.kind}` as MessageKey)} <span className="muted job-title-name">{jobName(job, t, locale)}</span>
        </h2>
        <div className="button-row head-actions">
          {live && connection === 'live' && <span className="live-dot">{t('jobs.live')}</span>}
          {live && connection === 'reconnecting' && <span className="muted small">{t('jobs.reconnecting')}</span>}
          {live && (
            <button type="button" className="btn btn-danger" onClick={() => void cancel()} disabled={canceling || job.cancelRequested}>
              {job.cancelRequested ? t('jobs.status.canceling') : t('jobs.cancel')}
            </button>
          )}
        </div>
      </div>
      {inputNames.length > 0 && (
        <p className="small job-inputs">
          {t('jobs.from')}: {inputNames.join(', ')}
        </p>
      )}
      {cancelError != null && <ErrorBanner error={cancelError} />}
      {live && connection === 'closed' && <ErrorBanner error={new Error(t('jobs.streamClosed'))} onRetry={reconnect} />}
      {job.error && <JobProblem job={job} />}
      <JobStats job={job} metrics={metrics} />
      <Curves job={job} metrics={metrics} />
      {job.kind === 'generate' && job.status === 'succeeded' && job.inputModelIds.length > 1 && (
        <section className="card">
          <h3>{t('models.preference')}</h3>
          <ModelPreference jobId={job.id} />
        </section>
      )}
      <section className="card">
        <h3>{t('jobs.log')}</h3>
        {logs.length === 0 ? (
          <p className="muted small">{t('jobs.noLog')}</p>
        ) : (
          <ol className="job-log">
            {logs.map((l) => (
              <li key={l.id} className={`log-${l.level}`}>
                <time dateTime={l.createdAt}>{new Date(l.createdAt).toLocaleTimeString('en-GB')}</time> <span>{logText(l, t)}</span>
              </li>
            ))}
          </ol>
        )}
      </section>
      <Settings job={job} />
    </div>
  );
}

/** A failure, or a succeeded job's notice (stopped early…): the code explained, the worker's message, what to try. */
function JobProblem({ job }: { job: Job }) {
  const { t } = useI18n();
  const e = job.error!;
  const failed = job.status === 'failed';
  const explained = KNOWN_CODES.includes(e.code) ? t(`jobs.code.${e.code}` as MessageKey) : e.code;
  const fix = fixText(e, t);
  return (
    <div className={failed ? 'banner banner-error job-problem' : job.status === 'canceled' ? 'banner banner-quiet job-problem' : 'banner banner-warn job-problem'} role={failed ? 'alert' : 'status'} data-code={e.code}>
      <div>
        <strong>{explained}</strong>
        <p className="job-problem-message">{reasonText(e, t)}</p>
        {fix && (
          <p className="job-problem-suggestion">
            {t('jobs.suggestion')} {fix}
          </p>
        )}
      </div>
    </div>
  );
}

function JobStats({ job, metrics }: { job: Job; metrics: JobMetric[] }) {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const tag = locale === 'zh' ? 'zh-CN' : 'en';
  // started and finished on the day it was created: the time says enough
  const when = (iso: string | null) =>
    !iso ? '—' : new Date(iso).toDateString() === new Date(job.createdAt).toDateString() ? new Date(iso).toLocaleTimeString(tag) : new Date(iso).toLocaleString(tag);
  const live = isLive(job);
  const eta = live ? latest(metrics, 'etaSeconds') : undefined;
  const tokens = latest(metrics, 'tokensPerSecond');
  const pairs = latest(metrics, 'pairsPerSecond');
  const step = metrics.at(-1)?.step;
  const took = job.startedAt && job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000 : undefined;
  const split = timeSplit(metrics);
  return (
    <ul className="stat-grid job-stats">
      <li className="card stat">
        <span className="stat-label">{t('jobs.status')}</span>
        <span className="stat-value" data-testid="job-status">
          <JobStatusBadge job={job} />
        </span>
        {job.attempts > 1 && <span className="muted small">{t('jobs.attempts', { n: job.attempts })}</span>}
      </li>
      <li className="card stat">
        <span className="stat-label">{t('jobs.progress')}</span>
        <span className="stat-value" data-testid="job-progress">
          {Math.round(job.progress * 100)}%
        </span>
        <progress max={1} value={job.progress} aria-label={t('jobs.progress')} className="wide-progress" />
        {step !== undefined && <span className="muted small">{t('jobs.step', { step })}</span>}
      </li>
      <li className="card stat">
        <span className="stat-label">{live ? t('jobs.eta') : t('jobs.took')}</span>
        <span className="stat-value">{live ? (eta !== undefined ? formatDuration(eta) : '—') : took !== undefined ? formatDuration(took) : '—'}</span>
        <span className="muted small">
          {tokens !== undefined ? t('jobs.tokensPerSecond', { n: Math.round(tokens).toLocaleString() }) : pairs !== undefined ? t('jobs.pairsPerSecond', { n: pairs.toFixed(1) }) : ''}
        </span>
      </li>
      <li className="card stat">
        <span className="stat-label">{t('jobs.times')}</span>
        <span className="small">
          {t('jobs.created')}: {new Date(job.createdAt).toLocaleString(tag)}
          <br />
          {t('jobs.started')}: {when(job.startedAt)}
          <br />
          {t('jobs.finished')}: {when(job.finishedAt)}
        </span>
      </li>
      {split.length > 0 && (
        <li className="card stat" data-testid="job-time-split">
          <span className="stat-label">{t('jobs.timeSplit')}</span>
          <span className="small">
            {split.map(({ part, seconds, share }) => (
              <span key={part}>
                {t(`jobs.timeSplit.${part}` as MessageKey)}: {formatDuration(seconds)} ({Math.round(share * 100)}%)
                <br />
              </span>
            ))}
          </span>
        </li>
      )}
      {job.outputModelId && (
        <li className="card stat">
          <span className="stat-label">{t('jobs.output')}</span>
          <Link href={`/projects/${project.id}/models#model-${job.outputModelId}`} className="output-link">
            {t('jobs.outputLink')}
          </Link>
        </li>
      )}
      {job.kind === 'generate' && job.status === 'succeeded' && (
        // a generate job's output is comparisons, not a model: they wait on the Rank page
        <li className="card stat">
          <span className="stat-label">{t('jobs.output')}</span>
          <Link href={`/projects/${project.id}/rank`} className="output-link">
            {t('generate.rankLink')}
          </Link>
        </li>
      )}
    </ul>
  );
}

function Curves({ job, metrics }: { job: Job; metrics: JobMetric[] }) {
  const { t } = useI18n();
  const charts = CURVES[job.kind]
    .map((spec) => ({ spec, series: spec.lines.map((l) => ({ label: t(l.label as MessageKey), color: l.color, points: points(metrics, l.key) })).filter((s) => s.points.length > 0) }))
    .filter((c) => c.series.length > 0);
  if (CURVES[job.kind].length === 0) return null;
  if (charts.length === 0) {
    return <p className="empty">{isLive(job) ? t('jobs.waitingForSteps') : t('jobs.noCurves')}</p>;
  }
  return (
    <div className="curve-grid">
      {charts.map(({ spec, series }) => (
        <section key={spec.title} className="card curve" data-curve={spec.lines[0].key}>
          <h3>{t(spec.title as MessageKey)}</h3>
          <LineChart title={t(spec.title as MessageKey)} series={series} formatX={(x) => t('jobs.step', { step: x })} fromZero={false} />
        </section>
      ))}
    </div>
  );
}

/** The hyper-parameters the job runs with (defaults filled in) and its frozen dataset. */
function Settings({ job }: { job: Job }) {
  const { t } = useI18n();
  const snapshot = job.datasetSnapshot as { source?: string; counts?: Record<string, number>; sha256?: string } | null;
  const flat = Object.entries(job.hyperparams)
    .filter(([k]) => k !== 'outputName')
    .map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  return (
    <details className="card job-settings">
      <summary>{t('jobs.settings')}</summary>
      {snapshot && (
        <p className="small">
          {t('jobs.dataset')}: {snapshot.source} — {Object.entries(snapshot.counts ?? {}).map(([k, n]) => `${k} ${n}`).join(', ')}
          {snapshot.sha256 && <code className="muted"> sha256 {snapshot.sha256.slice(0, 12)}…</code>}
        </p>
      )}
      <dl className="hp-list">
        {flat.map(([k, v]) => (
          <div key={k}>
            <dt>
              <code>{k}</code>
            </dt>
            <dd>
              <code>{v}</code>
            </dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
