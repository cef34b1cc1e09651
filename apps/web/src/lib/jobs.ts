// What the jobs pages compute from a job and its metrics: liveness, names, which curves each kind
// draws, and the latest rate / ETA. Metric rows are what apps/worker writes (see its kinds/*.ts).
import type { Job, JobKind, JobMetric } from '@jielong/shared';

export const isLive = (job: Pick<Job, 'status'>) => job.status === 'queued' || job.status === 'running';

/** A job's name: its output model's (the request's name, or the registered model's), else when it was created. */
export function jobName(job: Job, t: (key: 'jobs.unnamed', vars: { date: string }) => string, locale: string): string {
  const named = job.hyperparams.outputName;
  if (typeof named === 'string') return named;
  if (job.outputModelName) return job.outputModelName;
  return t('jobs.unnamed', { date: new Date(job.createdAt).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en') });
}

export interface CurveSpec {
  /** message key of the chart title */
  title: string;
  /** metric data keys drawn, each with its legend's message key and colour */
  lines: { key: string; label: string; color: string }[];
}

const TRAIN = 'var(--c1)';
const VAL = 'var(--c2)';

const loss: CurveSpec = {
  title: 'jobs.curve.loss',
  lines: [
    { key: 'loss', label: 'jobs.curve.train', color: TRAIN },
    { key: 'valLoss', label: 'jobs.curve.val', color: VAL },
  ],
};

/** The curves of each kind, most telling first. */
export const CURVES: Record<JobKind, CurveSpec[]> = {
  pretrain: [loss, { title: 'jobs.curve.bitsPerByte', lines: [{ key: 'bitsPerByte', label: 'jobs.curve.val', color: VAL }] }],
  sft: [loss],
  reward: [
    {
      title: 'jobs.curve.accuracy',
      lines: [
        { key: 'accuracy', label: 'jobs.curve.train', color: TRAIN },
        { key: 'valAccuracy', label: 'jobs.curve.val', color: VAL },
      ],
    },
    { title: 'jobs.curve.margin', lines: [{ key: 'valMargin', label: 'jobs.curve.val', color: VAL }] },
    loss,
  ],
  ppo: [
    {
      title: 'jobs.curve.reward',
      lines: [
        { key: 'reward', label: 'jobs.curve.rollouts', color: TRAIN },
        { key: 'evalReward', label: 'jobs.curve.heldOut', color: VAL },
      ],
    },
    { title: 'jobs.curve.kl', lines: [{ key: 'kl', label: 'jobs.curve.kl', color: 'var(--c3)' }] },
    { title: 'jobs.curve.entropy', lines: [{ key: 'entropy', label: 'jobs.curve.entropy', color: TRAIN }] },
  ],
  dpo: [
    {
      title: 'jobs.curve.dpoMargin',
      lines: [
        { key: 'margin', label: 'jobs.curve.train', color: TRAIN },
        { key: 'valMargin', label: 'jobs.curve.val', color: VAL },
      ],
    },
    {
      title: 'jobs.curve.accuracy',
      lines: [
        { key: 'accuracy', label: 'jobs.curve.train', color: TRAIN },
        { key: 'valAccuracy', label: 'jobs.curve.val', color: VAL },
      ],
    },
    loss,
  ],
  grpo: [
    {
      title: 'jobs.curve.reward',
      lines: [
        { key: 'reward', label: 'jobs.curve.rollouts', color: TRAIN },
        { key: 'evalReward', label: 'jobs.curve.heldOut', color: VAL },
      ],
    },
    { title: 'jobs.curve.kl', lines: [{ key: 'kl', label: 'jobs.curve.kl', color: 'var(--c3)' }] },
    { title: 'jobs.curve.rewardSpread', lines: [{ key: 'rewardSpread', label: 'jobs.curve.rollouts', color: TRAIN }] },
    { title: 'jobs.curve.entropy', lines: [{ key: 'entropy', label: 'jobs.curve.entropy', color: TRAIN }] },
  ],
  kto: [
    {
      title: 'jobs.curve.ktoMargin',
      lines: [
        { key: 'margin', label: 'jobs.curve.train', color: TRAIN },
        { key: 'valMargin', label: 'jobs.curve.val', color: VAL },
      ],
    },
    {
      title: 'jobs.curve.logRatio',
      lines: [
        { key: 'valDesirable', label: 'jobs.curve.desirable', color: TRAIN },
        { key: 'valUndesirable', label: 'jobs.curve.undesirable', color: 'var(--c3)' },
      ],
    },
    loss,
  ],
  best_of_n: [
    {
      title: 'jobs.curve.reward',
      lines: [
        { key: 'sampledReward', label: 'jobs.curve.sampled', color: TRAIN },
        { key: 'keptReward', label: 'jobs.curve.kept', color: 'var(--c3)' },
        { key: 'evalReward', label: 'jobs.curve.greedy', color: VAL },
      ],
    },
    { title: 'jobs.curve.kl', lines: [{ key: 'kl', label: 'jobs.curve.kl', color: 'var(--c3)' }] },
    { title: 'jobs.curve.loss', lines: [{ key: 'loss', label: 'jobs.curve.train', color: TRAIN }] },
  ],
  generate: [],
  import: [],
  export: [],
};

/** The (step, value) points of one metric key, in step order. */
export function points(metrics: JobMetric[], key: string): { x: number; y: number }[] {
  return metrics.flatMap((m) => {
    const v = m.data[key];
    return typeof v === 'number' && Number.isFinite(v) ? [{ x: m.step, y: v }] : [];
  });
}

/** The newest value of a metric key. */
export function latest(metrics: JobMetric[], key: string): number | undefined {
  for (let i = metrics.length - 1; i >= 0; i--) {
    const v = metrics[i].data[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/** "1 h 2 min", "3 min 20 s", "12 s" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** The parts a job's time is split into, as the worker's metrics name them (cumulative seconds). */
export const TIME_PARTS = ['sampleSeconds', 'scoreSeconds', 'trainSeconds', 'otherSeconds'] as const;

/** Where a job's time went so far (PPO: sampling, scoring, training; generate: sampling, storing), with shares. */
export function timeSplit(metrics: JobMetric[]): { part: (typeof TIME_PARTS)[number]; seconds: number; share: number }[] {
  const parts = TIME_PARTS.flatMap((part) => {
    const seconds = latest(metrics, part);
    return seconds === undefined ? [] : [{ part, seconds }];
  });
  const total = parts.reduce((s, p) => s + p.seconds, 0);
  return total > 0 ? parts.map((p) => ({ ...p, share: p.seconds / total })) : [];
}

/** Known job error codes, which have their own explanation (a message key jobs.code.<code>). */
export const KNOWN_CODES = ['diverged', 'overfit-stopped', 'early-stopped', 'small-dataset', 'kl-exceeded', 'out-of-memory', 'bad-data', 'invalid-config', 'canceled', 'worker-lost', 'internal'];
