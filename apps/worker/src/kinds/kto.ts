// kto: the SFT model + the frozen unpaired examples (desirable / undesirable answers) → policy, with
// the SFT model as the frozen reference: no reward model, no pairs.
import { trainKto, type KtoProgress } from '@jielong/ml';
import { KtoHyperparamsSchema, UnpairedRowSchema } from '@jielong/shared';
import { smallDatasetWarning } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import { runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runKto(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(KtoHyperparamsSchema);
  const examples = await run.dataset(UnpairedRowSchema);
  const small = smallDatasetWarning('kto', examples.length);
  if (small) await run.warn(small);
  return runTrainer(
    run,
    (p: KtoProgress) => ({
      epoch: p.epoch, loss: p.trainLoss, margin: p.margin, kl: p.kl, valLoss: p.valLoss, valMargin: p.valMargin, valDesirable: p.valDesirable, valUndesirable: p.valUndesirable,
      examplesPerSecond: p.examplesPerSecond,
    }),
    async ([sft], job) => {
      const { policy, tokenizer, ...result } = await trainKto({ policy: sft.model, tokenizer: sft.tokenizer, examples, config: hp, ...job });
      return {
        model: policy,
        tokenizer,
        kind: 'policy',
        state: { step: result.steps },
        metrics: { method: 'kto', ...result },
        summary: `held-out log-ratio margin (desirable − undesirable) ${result.initial.margin.toFixed(3)} → ${result.final.margin.toFixed(3)} on ${result.valExamples} examples`,
      };
    },
  );
}
