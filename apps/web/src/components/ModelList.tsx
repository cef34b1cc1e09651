'use client';

import { useEffect } from 'react';
import Link from 'next/link';
import { JobErrorSchema, type JobError, type JobListResponse, type Model, type ModelListResponse } from '@jielong/shared';
import { useI18n } from '@/i18n/I18nProvider';
import type { MessageKey } from '@/i18n/messages';
import { formatDuration, KNOWN_CODES } from '@/lib/jobs';
import { fixText, reasonText } from '@/lib/reasons';
import { useApiData } from '@/lib/useApiData';
import { ErrorBanner } from './ErrorBanner';
import { ModelDetails } from './ModelDetails';
import { ModelImport } from './ModelImport';
import { ModelPreference } from './ModelPreference';
import { useProject } from './ProjectContext';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const fixed = (v: unknown, digits = 3) => (num(v) === undefined ? '—' : num(v)!.toFixed(digits));
const pct = (v: unknown) => (num(v) === undefined ? '—' : `${Math.round(num(v)! * 100)}%`);

/** A model's few telling numbers, by kind (the metrics its job registered, see apps/worker/src/kinds). */
function keyMetrics(m: Model, t: (k: MessageKey) => string): { label: string; value: string }[] {
  const x = m.metrics as Record<string, unknown>;
  const evals = Array.isArray(x.evals) ? (x.evals as Record<string, unknown>[]) : [];
  const final = (x.final ?? {}) as Record<string, unknown>;
  const initial = (x.initial ?? {}) as Record<string, unknown>;
  switch (m.kind) {
    case 'base': {
      // an imported model: no training numbers, its size instead
      if (num(x.parameters) !== undefined && x.steps === undefined) return [{ label: t('models.m.parameters'), value: num(x.parameters)!.toLocaleString('en') }];
      const best = evals.find((e) => e.step === x.bestStep) ?? evals.at(-1);
      return [
        { label: t('models.m.valLoss'), value: fixed(x.bestValLoss) },
        { label: t('models.m.bitsPerByte'), value: fixed(best?.bitsPerByte) },
        { label: t('models.m.steps'), value: String(num(x.steps) ?? '—') },
      ];
    }
    case 'sft':
      return [
        { label: t('models.m.valLoss'), value: `${fixed(x.baseValLoss)} → ${fixed(x.bestValLoss)}` },
        { label: t('models.m.steps'), value: String(num(x.steps) ?? '—') },
      ];
    case 'reward':
      return [
        { label: t('models.m.accuracy'), value: `${pct(initial.accuracy)} → ${pct(final.accuracy)}` },
        { label: t('models.m.margin'), value: fixed(final.margin) },
        { label: t('models.m.pairs'), value: String(num(x.valPairs) ?? '—') },
      ];
    case 'policy': {
      const wall = num(x.wallSeconds) === undefined ? [] : [{ label: t('models.m.wallTime'), value: formatDuration(num(x.wallSeconds)!) }];
      // PPO and GRPO: rollouts' mean reward; best-of-N: greedy answers' reward (rewardStart → rewardEnd)
      if (x.method === 'ppo' || x.method === 'grpo' || x.method === 'best_of_n') {
        return [
          { label: t(x.method === 'best_of_n' ? 'models.m.greedyReward' : 'models.m.meanReward'), value: `${fixed(x.rewardStart)} → ${fixed(x.rewardEnd)}` },
          { label: t('models.m.kl'), value: fixed(x.klEnd) },
          ...wall,
        ];
      }
      if (x.method === 'kto') return [{ label: t('models.m.ktoMargin'), value: `${fixed(initial.margin)} → ${fixed(final.margin)}` }, ...wall];
      return [
        { label: t('models.m.accuracy'), value: `${pct(initial.accuracy)} → ${pct(final.accuracy)}` },
        { label: t('models.m.dpoMargin'), value: fixed(final.margin) },
        ...wall,
      ];
    }
    default:
      return [];
  }
}

/** What the job that trained a model warned about (overfitting, too little data…), as its worker stored it. */
function warningsOf(m: Model): JobError[] {
  const parsed = JobErrorSchema.array().safeParse(m.metrics.warnings);
  return parsed.success ? parsed.data : [];
}

function ModelWarnings({ warnings }: { warnings: JobError[] }) {
  const { t } = useI18n();
  if (warnings.length === 0) return null;
  return (
    <div className="banner banner-warn model-warnings" role="status" aria-label={t('models.warnings')}>
      {warnings.map((w, i) => {
        const fix = fixText(w, t);
        return (
          <p key={i} data-code={w.code} className="small">
            <strong>{KNOWN_CODES.includes(w.code) ? t(`jobs.code.${w.code}` as MessageKey) : w.code}</strong> {reasonText(w, t)}
            {fix && (
              <>
                {' '}
                {t('jobs.suggestion')} {fix}
              </>
            )}
          </p>
        );
      })}
    </div>
  );
}

/** The project's models as their lineage (base → SFT → reward / policy), and human preference between models. */
export function ModelList() {
  const { t } = useI18n();
  const { project } = useProject();
  const { data, error, loading, reload } = useApiData<ModelListResponse>(`/v1/projects/${project.id}/models`);
  const models = data?.items ?? [];
  // a link from a job (#model-<id>) points at a node drawn only once the list has loaded
  useEffect(() => {
    if (data && location.hash.startsWith('#model-')) document.getElementById(location.hash.slice(1))?.scrollIntoView({ block: 'center' });
  }, [data]);
  const byId = new Map(models.map((m) => [m.id, m]));
  const children = new Map<string, Model[]>();
  const roots: Model[] = [];
  // oldest first, so a family reads in the order it was trained
  for (const m of [...models].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
    if (m.parentId && byId.has(m.parentId)) children.set(m.parentId, [...(children.get(m.parentId) ?? []), m]);
    else roots.push(m);
  }

  return (
    <div className="page">
      <div className="page-head">
        <h2>{t('models.title')}</h2>
      </div>
      {error != null && <ErrorBanner error={error} onRetry={reload} />}
      {loading && !data && <p className="muted">{t('common.loading')}</p>}
      {data && models.length === 0 && <p className="empty">{t('models.empty')}</p>}
      <ModelImport onImported={reload} />
      {roots.length > 0 && (
        <section className="card">
          <h3>{t('models.lineage')}</h3>
          <p className="muted small">{t('models.lineageHelp')}</p>
          <ul className="lineage" aria-label={t('models.lineage')}>
            {roots.map((m) => (
              <ModelNode key={m.id} model={m} childrenOf={children} byId={byId} />
            ))}
          </ul>
        </section>
      )}
      {data && <Preferences />}
    </div>
  );
}

function ModelNode({ model, childrenOf, byId }: { model: Model; childrenOf: Map<string, Model[]>; byId: Map<string, Model> }) {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const kids = childrenOf.get(model.id) ?? [];
  const rewardModel = typeof model.metrics.rewardModelId === 'string' ? byId.get(model.metrics.rewardModelId) : undefined;
  return (
    <li>
      <div className="model-node" id={`model-${model.id}`} data-model-id={model.id} data-kind={model.kind}>
        <div className="model-node-head">
          <span className={`badge badge-model-${model.kind}`}>{t(`models.kind.${model.kind}` as MessageKey)}</span>
          <strong className="model-name">{model.name}</strong>
        </div>
        <dl className="model-metrics">
          {keyMetrics(model, t).map((k) => (
            <div key={k.label}>
              <dt>{k.label}</dt>
              <dd>{k.value}</dd>
            </div>
          ))}
        </dl>
        <ModelWarnings warnings={warningsOf(model)} />
        <p className="muted small model-meta">
          {model.jobId ? (
            <Link href={`/projects/${project.id}/jobs/${model.jobId}`}>{t('models.madeBy')}</Link>
          ) : (
            t('models.imported')
          )}
          {rewardModel && (
            <>
              {' · '}
              {t('models.rewardModel')} <a href={`#model-${rewardModel.id}`}>{rewardModel.name}</a>
            </>
          )}
          {' · '}
          {new Date(model.createdAt).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en')}
        </p>
        {model.kind !== 'tokenizer' && <ModelDetails model={model} />}
      </div>
      {kids.length > 0 && (
        <ul>
          {kids.map((k) => (
            <ModelNode key={k.id} model={k} childrenOf={childrenOf} byId={byId} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Finished generate jobs that mixed several models: the raters' preference between them. */
function Preferences() {
  const { t, locale } = useI18n();
  const { project } = useProject();
  const { data, error, reload } = useApiData<JobListResponse>(`/v1/projects/${project.id}/jobs?kind=generate&status=succeeded&limit=50`);
  const jobs = (data?.items ?? []).filter((j) => j.inputModelIds.length > 1).slice(0, 5);
  if (error != null) return <ErrorBanner error={error} onRetry={reload} />;
  if (jobs.length === 0) return null;
  return (
    <section className="card">
      <h3>{t('models.preference')}</h3>
      <p className="muted small">{t('models.preferenceHelp')}</p>
      {jobs.map((j) => (
        <div key={j.id} className="preference-job">
          <Link href={`/projects/${project.id}/jobs/${j.id}`} className="small">
            {t('jobs.kind.generate')} · {new Date(j.createdAt).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en')}
          </Link>
          <ModelPreference jobId={j.id} />
        </div>
      ))}
    </section>
  );
}
