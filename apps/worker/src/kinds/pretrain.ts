// pretrain: corpus → tokenizer + base model. Checkpoints every checkpointEvery steps into the job's
// folder; a retried job resumes from the newest checkpoint (pretrain's batches depend only on the
// seed and the step, so the resumed run repeats the uninterrupted one).
import { join } from 'node:path';
import { pretrain } from '@jielong/ml';
import { PretrainHyperparamsSchema, PretrainRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runPretrain(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(PretrainHyperparamsSchema);
  const rows = await run.dataset(PretrainRowSchema);
  const dir = await run.dir();
  await run.announceResume(join(dir, 'checkpoint'), hp.steps);
  const result = await pretrain({
    corpus: rows.map((r) => r.text),
    config: hp,
    outDir: dir,
    resume: true,
    signal: run.signal,
    beforeCheckpoint: () => run.flush(), // every step up to a checkpoint is on record when a retry resumes from it
    onProgress: (p) => {
      if (p.phase === 'tokenizer') return void run.log('training the tokenizer', 'info', 'tokenizer');
      run.metric(p.step, { phase: p.phase, lr: p.lr, loss: p.trainLoss, valLoss: p.valLoss, bitsPerByte: p.bitsPerByte, tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds }, p.steps);
    },
  });
  result.model.dispose();
  return {
    output: {
      kind: 'base',
      dir: join(dir, 'model'),
      parentId: null,
      metrics: { steps: result.steps, bestStep: result.bestStep, bestValLoss: result.bestValLoss, evals: result.evals },
    },
    notice: result.stopped ?? undefined,
  };
}
