// dpo: the SFT model + the frozen preference pairs → policy, with the SFT model as the frozen
// reference (the second route to a policy, without a reward model).
import { trainDpo, type DpoProgress } from '@jielong/ml';
import { DpoHyperparamsSchema, PreferencePairRowSchema } from '@jielong/shared';
import { smallDatasetWarning } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import { runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runDpo(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(DpoHyperparamsSchema);
  const pairs = await run.dataset(PreferencePairRowSchema);
  const small = smallDatasetWarning('dpo', pairs.length);
  if (small) await run.warn(small);
  return runTrainer(
    run,
    (p: DpoProgress) => ({
      epoch: p.epoch, loss: p.trainLoss, margin: p.margin, accuracy: p.accuracy, valLoss: p.valLoss, valMargin: p.valMargin, valAccuracy: p.valAccuracy, pairsPerSecond: p.pairsPerSecond,
    }),
    async ([sft], job) => {
      const { policy, tokenizer, ...result } = await trainDpo({ policy: sft.model, tokenizer: sft.tokenizer, pairs, config: hp, ...job });
      return {
        model: policy,
        tokenizer,
        kind: 'policy',
        state: { step: result.steps },
        metrics: { method: 'dpo', ...result },
        summary: `held-out preference accuracy ${result.initial.accuracy.toFixed(3)} → ${result.final.accuracy.toFixed(3)} on ${result.valPairs} pairs`,
      };
    },
  );
}
