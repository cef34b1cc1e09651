// dpo: the SFT model + the frozen preference pairs → policy, with the SFT model as the frozen
// reference (the second route to a policy, without a reward model).
import { join } from 'node:path';
import { saveCheckpoint, trainDpo } from '@jielong/ml';
import { DpoHyperparamsSchema, PreferencePairRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runDpo(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(DpoHyperparamsSchema);
  const pairs = await run.dataset(PreferencePairRowSchema);
  const sft = await run.loadModel(run.job.inputModelIds[0]);
  try {
    const result = await trainDpo({
      policy: sft.model,
      tokenizer: sft.tokenizer,
      pairs,
      config: hp,
      signal: run.signal,
      onProgress: (p) =>
        run.metric(
          p.step,
          { phase: p.phase, epoch: p.epoch, lr: p.lr, loss: p.trainLoss, margin: p.margin, accuracy: p.accuracy, valLoss: p.valLoss, valMargin: p.valMargin, valAccuracy: p.valAccuracy, pairsPerSecond: p.pairsPerSecond, etaSeconds: p.etaSeconds },
          p.steps,
        ),
    });
    await run.log(`held-out preference accuracy ${result.initial.accuracy.toFixed(3)} → ${result.final.accuracy.toFixed(3)} on ${result.valPairs} pairs`);
    const dir = join(await run.dir(), 'model');
    await saveCheckpoint(dir, { model: result.policy, tokenizer: sft.tokenizer, state: { step: result.steps } });
    result.policy.dispose();
    return {
      output: {
        kind: 'policy',
        dir,
        parentId: sft.row.id,
        metrics: { method: 'dpo', steps: result.steps, trainPairs: result.trainPairs, valPairs: result.valPairs, initial: result.initial, final: result.final, evals: result.evals },
      },
    };
  } finally {
    sft.model.dispose();
  }
}
