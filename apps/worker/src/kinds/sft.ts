// sft: a base model + the frozen accepted demonstrations → SFT model (full or LoRA).
import { trainSft, type SftProgress } from '@jielong/ml';
import { SftHyperparamsSchema, SftRowSchema } from '@jielong/shared';
import { smallDatasetWarning } from '../failures.ts';
import type { JobRun } from '../job-run.ts';
import { runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runSft(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(SftHyperparamsSchema);
  const rows = await run.dataset(SftRowSchema);
  const small = smallDatasetWarning('sft', rows.length);
  if (small) await run.warn(small);
  return runTrainer(
    run,
    (p: SftProgress) => ({ epoch: p.epoch, loss: p.trainLoss, valLoss: p.valLoss, tokensPerSecond: p.tokensPerSecond }),
    async ([base], job) => {
      const result = await trainSft({ model: base.model, tokenizer: base.tokenizer, data: rows.map((r) => ({ prompt: r.prompt, answer: r.completion })), config: hp, ...job });
      return {
        model: result.model,
        tokenizer: result.tokenizer,
        kind: 'sft',
        state: { step: result.steps, bestStep: result.bestStep, bestValLoss: result.bestValLoss },
        metrics: { steps: result.steps, bestStep: result.bestStep, baseValLoss: result.baseValLoss, bestValLoss: result.bestValLoss, evals: result.evals },
        notice: result.stopped ?? undefined,
      };
    },
  );
}
