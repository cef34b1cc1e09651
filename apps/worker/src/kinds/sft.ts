// sft: a base model + the frozen accepted demonstrations → SFT model (full or LoRA).
import { join } from 'node:path';
import { saveCheckpoint, trainSft } from '@jielong/ml';
import { SftHyperparamsSchema, SftRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runSft(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(SftHyperparamsSchema);
  const rows = await run.dataset(SftRowSchema);
  const base = await run.loadModel(run.job.inputModelIds[0]);
  try {
    const result = await trainSft({
      model: base.model,
      tokenizer: base.tokenizer,
      data: rows.map((r) => ({ prompt: r.prompt, answer: r.completion })),
      config: hp,
      signal: run.signal,
      onProgress: (p) => run.metric(p.step, { phase: p.phase, epoch: p.epoch, lr: p.lr, loss: p.trainLoss, valLoss: p.valLoss, tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds }, p.steps),
    });
    const dir = join(await run.dir(), 'model');
    await saveCheckpoint(dir, { model: result.model, tokenizer: base.tokenizer, state: { step: result.steps, bestStep: result.bestStep, bestValLoss: result.bestValLoss } });
    result.model.dispose();
    return {
      output: {
        kind: 'sft',
        dir,
        parentId: base.row.id,
        metrics: { steps: result.steps, bestStep: result.bestStep, baseValLoss: result.baseValLoss, bestValLoss: result.bestValLoss, evals: result.evals },
      },
      notice: result.stopped ? { code: result.stopped.code, message: result.stopped.message } : undefined,
    };
  } finally {
    base.model.dispose();
  }
}
