// Supervised fine-tuning: a base model learns to answer prompts from human demonstrations.
// Examples go through the chat template and the loss counts only the answer's tokens (its
// content and <|end|>), so the model learns to answer, not to imitate users. Full fine-tune or
// LoRA (base weights frozen); validation split, early stopping on the best validation loss.
import * as tf from '@tensorflow/tfjs';
import type { GPT, LoraConfig } from '../gpt.ts';
import { AdamW, clipByGlobalNorm, learningRate } from '../optim.ts';
import type { Tokenizer } from '../tokenizer.ts';
import {
  checkAborted, checkConfig, checkFinite, chunks, cloneModel, holdOut, padBatch, renderAnswer, requireData, restore, shuffled, snapshot,
  yieldToEventLoop, type Batch, type PromptAnswer,
} from './common.ts';

export interface SftConfig {
  /** null: every weight trains; { rank, alpha }: only LoRA adapters train, the base stays frozen. */
  lora: LoraConfig | null;
  epochs: number;
  /** Examples per step. */
  batchSize: number;
  /** Peak learning rate (after warmupSteps), cosine-decayed to minLr. LoRA usually wants ~3× more. */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Max global gradient norm (0 = no clipping). */
  gradClip: number;
  /** Share of the examples held out for validation. */
  valFraction: number;
  /** Evaluate every this many steps (and at the end). */
  evalEvery: number;
  /** Early stopping: stop after this many evaluations in a row without a better validation loss. */
  patience: number;
  seed: number;
}

export const SFT_DEFAULTS: SftConfig = {
  lora: null,
  epochs: 3,
  batchSize: 8,
  lr: 3e-4,
  minLr: 3e-5,
  warmupSteps: 10,
  weightDecay: 0,
  gradClip: 1,
  valFraction: 0.1,
  evalEvery: 50,
  patience: 3,
  seed: 1337,
};

export interface SftProgress {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  /** Validation loss (nats per answer token), on evaluation steps. */
  valLoss?: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface SftOptions {
  /** The base model; it is copied, never changed. */
  model: GPT;
  tokenizer: Tokenizer;
  data: readonly PromptAnswer[];
  config?: Partial<SftConfig>;
  onProgress?: (p: SftProgress) => void;
  signal?: AbortSignal;
}

export interface SftResult {
  /** The fine-tuned copy at its best validation loss (with LoRA: adapters attached, not merged). */
  model: GPT;
  steps: number;
  bestStep: number;
  /** Validation loss of the base model before training, and of the returned model. */
  baseValLoss: number;
  bestValLoss: number;
  stopped: { code: 'early-stopped'; message: string } | null;
  evals: { step: number; trainLoss: number; valLoss: number }[];
}

/** Examples as one padded batch; the mask is 1 on answer tokens only. Call inside tf.tidy. */
export function sftBatch(tokenizer: Tokenizer, examples: readonly PromptAnswer[], blockSize: number): Batch {
  return padBatch(examples.map((e) => renderAnswer(tokenizer, e.prompt, e.answer, blockSize + 1)), tokenizer.eotId);
}

/** Mean negative log-likelihood of the masked (answer) targets. */
export function sftLoss(model: GPT, batch: Batch, opts: { training?: boolean; seed?: number } = {}): tf.Scalar {
  return model.forward(batch.x, { targets: batch.y, mask: batch.mask, ...opts }).loss!;
}

/** Token-weighted validation loss over all examples. */
export function sftValLoss(model: GPT, tokenizer: Tokenizer, examples: readonly PromptAnswer[], batchSize = 16): number {
  let nll = 0;
  let tokens = 0;
  for (const part of chunks(examples, batchSize)) {
    tf.tidy(() => {
      const batch = sftBatch(tokenizer, part, model.config.blockSize);
      const n = batch.mask.sum().dataSync()[0];
      nll += sftLoss(model, batch).dataSync()[0] * n;
      tokens += n;
    });
  }
  return nll / Math.max(1, tokens);
}

export async function trainSft(opts: SftOptions): Promise<SftResult> {
  const c: SftConfig = { ...SFT_DEFAULTS, ...opts.config };
  checkConfig(c, { epochs: 'positiveInt', batchSize: 'positiveInt', lr: 'positive', minLr: 'nonNegative', warmupSteps: 'nonNegativeInt', weightDecay: 'nonNegative', gradClip: 'nonNegative', valFraction: 'fraction', evalEvery: 'positiveInt', patience: 'positiveInt' }, SFT_DEFAULTS);
  requireData(opts.data.length, 'SFT examples', 2);
  const tok = opts.tokenizer;
  const { train, val } = holdOut(opts.data, Math.max(c.valFraction, 1e-9), c.seed);

  const model = cloneModel(opts.model, { merge: true });
  if (c.lora) model.addLora(c.lora);
  const optimizer = new AdamW({ weightDecay: c.weightDecay });
  const stepsPerEpoch = Math.ceil(train.length / c.batchSize);
  const steps = c.epochs * stepsPerEpoch;
  const schedule = { lr: c.lr, minLr: Math.min(c.minLr, c.lr), warmupSteps: c.warmupSteps, steps };

  const baseValLoss = sftValLoss(model, tok, val);
  let bestValLoss = baseValLoss;
  let bestStep = 0;
  let best = snapshot(model);
  let stale = 0;
  let stopped: SftResult['stopped'] = null;
  const evals: SftResult['evals'] = [];
  let step = 0;
  let emaMs = 0;
  let trainLossEma = NaN;
  try {
    for (let epoch = 0; epoch < c.epochs && !stopped; epoch++) {
      for (const part of chunks(shuffled(train, c.seed + epoch), c.batchSize)) {
        checkAborted(opts.signal, step);
        const lr = learningRate(step, schedule);
        const t0 = performance.now();
        const { loss, tokens } = tf.tidy(() => {
          const batch = sftBatch(tok, part, model.config.blockSize);
          const { loss, grads } = model.gradients(() => sftLoss(model, batch, { training: true, seed: c.seed + step }));
          const value = loss.dataSync()[0];
          checkFinite(value, 'SFT loss', step, lr);
          optimizer.apply(model.params, clipByGlobalNorm(grads, c.gradClip).grads, lr);
          return { loss: value, tokens: batch.x.size };
        });
        const ms = performance.now() - t0;
        emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
        trainLossEma = Number.isNaN(trainLossEma) ? loss : 0.9 * trainLossEma + 0.1 * loss;
        step++;
        const progress: SftProgress = { phase: 'train', step, steps, epoch, lr, trainLoss: loss, tokensPerSecond: (tokens * 1000) / ms, etaSeconds: ((steps - step) * emaMs) / 1000 };
        if (step % c.evalEvery === 0 || step === steps) {
          const valLoss = sftValLoss(model, tok, val);
          evals.push({ step, trainLoss: trainLossEma, valLoss });
          Object.assign(progress, { phase: 'eval', valLoss });
          if (valLoss < bestValLoss) {
            [bestValLoss, bestStep, stale] = [valLoss, step, 0];
            tf.dispose(Object.values(best));
            best = snapshot(model);
          } else if (++stale >= c.patience) {
            stopped = { code: 'early-stopped', message: `validation loss did not improve for ${stale} evaluations; stopped at step ${step} and kept the best model (step ${bestStep}, validation loss ${bestValLoss.toFixed(4)})` };
          }
        }
        opts.onProgress?.(progress);
        if (stopped) break;
        await yieldToEventLoop();
      }
    }
    restore(model, best);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(best));
    optimizer.dispose();
  }
  return { model, steps: step, bestStep, baseValLoss, bestValLoss, stopped, evals };
}
