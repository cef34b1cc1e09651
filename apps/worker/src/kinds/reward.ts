// reward: a model (usually the SFT model) + the frozen preference pairs → reward model (the
// backbone plus a scalar head). Pairs of one ranking share a group and stay in one batch.
import { trainRewardModel, type RewardProgress } from '@jielong/ml';
import { PreferencePairRowSchema, RewardHyperparamsSchema } from '@jielong/shared';
import { smallDatasetWarning } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import { runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runReward(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(RewardHyperparamsSchema);
  const pairs = await run.dataset(PreferencePairRowSchema);
  const small = smallDatasetWarning('reward', pairs.length);
  if (small) await run.warn(small);
  return runTrainer(
    run,
    (p: RewardProgress) => ({
      epoch: p.epoch, loss: p.trainLoss, accuracy: p.trainAccuracy, valLoss: p.valLoss, valAccuracy: p.valAccuracy, valMargin: p.valMargin, pairsPerSecond: p.pairsPerSecond,
    }),
    async ([base], job) => {
      const { model, tokenizer, ...result } = await trainRewardModel({ model: base.model, tokenizer: base.tokenizer, pairs, config: hp, ...job });
      return {
        model,
        tokenizer,
        kind: 'reward',
        state: { step: result.steps },
        metrics: result,
        summary: `held-out accuracy ${result.initial.accuracy.toFixed(3)} → ${result.final.accuracy.toFixed(3)} on ${result.valPairs} pairs`,
      };
    },
  );
}
