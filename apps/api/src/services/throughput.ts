// Training speed measured on this installation: tokens per wall-clock second of the latest finished
// pre-training jobs, per model preset (median over jobs). The start form turns it into "about N
// minutes on this machine" before a researcher commits to a run (the default once took 58 minutes
// unannounced). Wall clock, from the times the job's step metrics were written, because the
// per-step tokens/s a trainer reports leaves out evaluation, checkpoints and the event loop (about
// 3× too fast for the mini preset here). Taken from the jobs' own metrics: nothing extra is
// recorded, and every worker's runs count.
import { PRESET_BLOCK_SIZE, type Throughput } from '@jielong/shared';
import type { Db } from '../db.ts';

/** Jobs per preset the median is taken over: recent enough to follow a new machine or worker count. */
const RECENT_JOBS = 5;
/** Shorter spans are mostly the one-second batching of metric writes. */
const MIN_SECONDS = 5;

interface Span {
  preset: string | null;
  batchSize: number | null;
  blockSize: number | null;
  steps: number;
  seconds: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function measuredThroughput(db: Db): Promise<Throughput[]> {
  const spans = await db.$queryRaw<Span[]>`
    SELECT j.hyperparams->>'preset' AS preset,
           (j.hyperparams->>'batchSize')::int AS "batchSize",
           (j.hyperparams->'model'->>'blockSize')::int AS "blockSize",
           max(m.step) - min(m.step) AS steps,
           extract(epoch FROM max(m."createdAt") - min(m."createdAt"))::float8 AS seconds
    FROM "TrainingJob" j JOIN "JobMetric" m ON m."jobId" = j.id
    WHERE j.id IN (
      SELECT id FROM "TrainingJob"
      WHERE kind = 'pretrain' AND status IN ('succeeded', 'failed', 'canceled') AND "finishedAt" IS NOT NULL
      ORDER BY "finishedAt" DESC LIMIT ${RECENT_JOBS * 10}
    )
    GROUP BY j.id`;
  const byPreset = new Map<string, number[]>();
  for (const s of spans) {
    const block = s.blockSize ?? PRESET_BLOCK_SIZE[s.preset as keyof typeof PRESET_BLOCK_SIZE];
    if (!block || !s.batchSize || s.steps <= 0 || !(s.seconds >= MIN_SECONDS)) continue;
    const list = byPreset.get(s.preset!) ?? [];
    if (list.length < RECENT_JOBS) byPreset.set(s.preset!, [...list, (s.steps * s.batchSize * block) / s.seconds]);
  }
  return [...byPreset].map(([preset, rates]) => ({ kind: 'pretrain', preset, tokensPerSecond: median(rates), jobs: rates.length }));
}
