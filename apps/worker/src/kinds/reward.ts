// reward: a model (usually the SFT model) + the frozen preference pairs → reward model (the
// backbone plus a scalar head). Pairs of one ranking share a group and stay in one batch.
import { join } from 'node:path';
import { saveCheckpoint, trainRewardModel } from '@jielong/ml';
import { PreferencePairRowSchema, RewardHyperparamsSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runReward(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(RewardHyperparamsSchema);
  const pairs = await run.dataset(PreferencePairRowSchema);
  const base = await run.loadModel(run.job.inputModelIds[0]);
  try {
    const result = await trainRewardModel({
      model: base.model,
      tokenizer: base.tokenizer,
      pairs,
      config: hp,
      signal: run.signal,
      onProgress: (p) =>
        run.metric(
          p.step,
          { phase: p.phase, epoch: p.epoch, lr: p.lr, loss: p.trainLoss, accuracy: p.trainAccuracy, valLoss: p.valLoss, valAccuracy: p.valAccuracy, valMargin: p.valMargin, pairsPerSecond: p.pairsPerSecond, etaSeconds: p.etaSeconds },
          p.steps,
        ),
    });
    await run.log(`held-out accuracy ${result.initial.accuracy.toFixed(3)} → ${result.final.accuracy.toFixed(3)} on ${result.valPairs} pairs`);
    const dir = join(await run.dir(), 'model');
    await saveCheckpoint(dir, { model: result.model, tokenizer: base.tokenizer, state: { step: result.steps } });
    result.model.dispose();
    return {
      output: {
        kind: 'reward',
        dir,
        parentId: base.row.id,
        metrics: { steps: result.steps, trainPairs: result.trainPairs, valPairs: result.valPairs, initial: result.initial, final: result.final, evals: result.evals },
      },
    };
  } finally {
    base.model.dispose();
  }
}
