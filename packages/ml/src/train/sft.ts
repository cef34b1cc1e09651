// Supervised fine-tuning: a base model learns to answer prompts from human demonstrations.
// Examples go through the chat template and the loss counts only the answer's tokens (its
// content and <|end|>), so the model learns to answer, not to imitate users. Full fine-tune or
// LoRA (base weights frozen); validation split, early stopping on the best validation loss. A batch
// the WebAssembly heap cannot hold in one pass is trained in several (gradient accumulation).
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  checkConfig, chunks, EPOCH_DEFAULTS, fineTuneStart, EPOCH_RULES, holdOut, padBatch, renderAnswer, requireData, shuffled, trainEpochs,
  type Batch, type EpochConfig, type EpochsResult, type EvalRecords, type PromptAnswer, type StepProgress, type TrainerOptions,
} from './common.ts';

export interface SftConfig extends EpochConfig {
  /** Early stopping: stop after this many evaluations in a row without a better validation loss. */
  patience: number;
  /** Examples per forward/backward pass; a larger batch is trained in passes whose gradients are
   * summed. 0: the whole batch when it fits the WebAssembly heap, else as many as fit. */
  microBatch: number;
}

export const SFT_DEFAULTS: SftConfig = { ...EPOCH_DEFAULTS, epochs: 3, lr: 3e-4, minLr: 3e-5, patience: 3, microBatch: 0 };

export interface SftProgress extends StepProgress {
  /** Validation loss (nats per answer token), on evaluation steps. */
  valLoss?: number;
  tokensPerSecond: number;
}

export interface SftOptions extends TrainerOptions<SftConfig, SftProgress> {
  /** The base model; it is copied, never changed. */
  model: CausalLM;
  data: readonly PromptAnswer[];
}

export interface SftResult {
  /** The fine-tuned copy at its best validation loss (with LoRA: adapters attached, not merged). */
  model: CausalLM;
  /** Its tokenizer: the one given, with the chat tokens added when the base had no chat format. */
  tokenizer: Tokenizer;
  steps: number;
  bestStep: number;
  /** Validation loss of the base model before training, and of the returned model. */
  baseValLoss: number;
  bestValLoss: number;
  stopped: EpochsResult<{ valLoss: number }>['stopped'];
  evals: EvalRecords<{ valLoss: number }>;
}

/** Examples as one padded batch; the mask is 1 on answer tokens only. Call inside tf.tidy. */
export function sftBatch(tokenizer: Tokenizer, examples: readonly PromptAnswer[], blockSize: number): Batch {
  return padBatch(examples.map((e) => renderAnswer(tokenizer, e.prompt, e.answer, blockSize + 1)), tokenizer.eotId);
}

/** Mean negative log-likelihood of the masked (answer) targets. */
export function sftLoss(model: CausalLM, batch: Batch, opts: { training?: boolean; seed?: number } = {}): tf.Scalar {
  return model.forward(batch.x, { targets: batch.y, mask: batch.mask, ...opts }).loss!;
}

/** Token-weighted validation loss over all examples. */
export function sftValLoss(model: CausalLM, tokenizer: Tokenizer, examples: readonly PromptAnswer[], batchSize = 16): number {
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
  checkConfig(c, { ...EPOCH_RULES, patience: 'positiveInt', microBatch: 'nonNegativeInt' }, SFT_DEFAULTS);
  requireData(opts.data.length, 'SFT examples', 2);
  const { train, val } = holdOut(opts.data, Math.max(c.valFraction, 1e-9), c.seed);
  const blockSize = opts.model.config.blockSize;
  const batchRows = Math.min(c.batchSize, train.length);
  const footprint = {
    rows: c.microBatch > 0 ? Math.min(c.microBatch, batchRows) : batchRows,
    lengths: (t: Tokenizer) => opts.data.map((e) => renderAnswer(t, e.prompt, e.answer, blockSize + 1).ids.length - 1),
    splittable: c.microBatch === 0,
    setting: c.microBatch > 0 ? 'microBatch' : 'batchSize',
  };
  const { model, tokenizer: tok, rowsPerPass } = fineTuneStart(opts.model, opts.tokenizer, { lora: c.lora, footprint });
  // The loss is a mean over answer tokens, so a pass weighs by its share of the batch's answer tokens.
  const answerTokens = (e: PromptAnswer) => renderAnswer(tok, e.prompt, e.answer, blockSize + 1).mask.slice(1).reduce((n, m) => n + m, 0);
  const run = await trainEpochs({
    model,
    config: c,
    options: opts,
    lossName: 'SFT loss',
    batches: (epoch) => chunks(shuffled(train, c.seed + epoch), c.batchSize),
    loss: (examples, seed) => {
      const batch = sftBatch(tok, examples, model.config.blockSize);
      return { loss: sftLoss(model, batch, { training: true, seed }), stats: { tokens: batch.x.size } };
    },
    split: (examples) => {
      if (examples.length <= rowsPerPass) return [{ part: examples, weight: 1 }];
      const parts = chunks(examples, rowsPerPass);
      const counts = parts.map((part) => part.reduce((n, e) => n + answerTokens(e), 0));
      const total = Math.max(1, counts.reduce((a, b) => a + b, 0));
      return parts.map((part, i) => ({ part, weight: counts[i] / total }));
    },
    mergeStats: (a, b) => ({ tokens: a.tokens + b.tokens }),
    evaluate: () => ({ valLoss: sftValLoss(model, tok, val, Math.min(16, rowsPerPass)) }),
    earlyStopping: { score: (e) => e.valLoss, patience: c.patience },
    progress: (p, { stats, ms, evaluated }) => ({ ...p, valLoss: evaluated?.valLoss, tokensPerSecond: (stats.tokens * 1000) / ms }),
  });
  return { model, tokenizer: tok, steps: run.steps, bestStep: run.bestStep, baseValLoss: run.initial.valLoss, bestValLoss: run.final.valLoss, stopped: run.stopped, evals: run.evals };
}
