// Pre-training job: corpus in → tokenizer + base model out, nanoGPT's train.py as a function.
// Train/validation split, AdamW with warm-up and cosine decay, gradient clipping, a fixed seed
// (the batch of step s depends only on seed and s, so a resumed run repeats an uninterrupted one),
// progress callbacks, divergence and overfitting detection with early stopping on the best model.
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from './backend.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { GPT, gptConfig, type CausalLM, type GPTConfig, type ModelConfig, type PresetName } from './models/index.ts';
import { AdamW, applyGradients, learningRate } from './optim.ts';
import { GradientWorkers, lmLoss, type LmBatch } from './parallel.ts';
import { mulberry32 } from './sample.ts';
import { BpeTokenizer, type Tokenizer } from './tokenizers/index.ts';

export interface PretrainConfig {
  preset: PresetName;
  /** Overrides of the preset (blockSize, nLayer, nHead, nEmbd, dropout). */
  model: Partial<Omit<GPTConfig, 'vocabSize'>>;
  /** Vocabulary of the tokenizer trained on the corpus (ignored when a tokenizer is given). */
  vocabSize: number;
  steps: number;
  batchSize: number;
  /** Peak learning rate, reached after warmupSteps, decayed by cosine to minLr. */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Max global gradient norm (0 = no clipping). */
  gradClip: number;
  /** Share of the token stream held out for validation (its tail). */
  valFraction: number;
  evalEvery: number;
  evalBatches: number;
  /** Overfitting: stop after this many evaluations in a row without a better validation loss, when training loss fell meanwhile. */
  patience: number;
  /** Save a resumable checkpoint every this many steps (needs outDir; 0 = only at the end). */
  checkpointEvery: number;
  seed: number;
  /** Threads computing gradients (batch rows are split between them); 1 = this thread only. */
  threads: number;
  /**
   * Rows per forward/backward pass (per thread): a larger batch is split into passes whose gradients
   * are accumulated. 0 = as many as fit the 4 GB WebAssembly heap (see rowsPerPass).
   */
  microBatch: number;
}

export const PRETRAIN_DEFAULTS: PretrainConfig = {
  preset: 'mini',
  model: {},
  vocabSize: 2048,
  steps: 2000,
  batchSize: 16,
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 100,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1,
  valFraction: 0.1,
  evalEvery: 100,
  evalBatches: 8,
  patience: 3,
  checkpointEvery: 200,
  seed: 1337,
  threads: 1,
  microBatch: 0,
};

export type CorpusSource = string | { file: string } | AsyncIterable<string> | Iterable<string>;

export interface PretrainProgress {
  phase: 'tokenizer' | 'train' | 'eval';
  step: number;
  steps: number;
  lr: number;
  trainLoss: number;
  /** Latest validation loss (nats per token) and the same in bits per byte of text. */
  valLoss?: number;
  bitsPerByte?: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export type TrainingErrorCode = 'diverged' | 'invalid-config' | 'aborted' | 'kl-exceeded' | 'out-of-memory';

/** Numbers (and names) a message is made of, so a UI can say it again in its own language. */
export type ReasonParams = Record<string, number | string>;

/** Why training could not finish, with what to change. */
export class TrainingError extends Error {
  constructor(
    readonly code: TrainingErrorCode,
    message: string,
    readonly suggestion?: string,
    readonly params: ReasonParams = {},
  ) {
    super(message);
    this.name = 'TrainingError';
  }
  toJSON(): { code: TrainingErrorCode; message: string; suggestion?: string; params: ReasonParams } {
    return { code: this.code, message: this.message, suggestion: this.suggestion, params: this.params };
  }
}

/**
 * The learning rate to try after a run diverged at `lr`: a tenth of it at most (a third, as once
 * advised, can still be far above anything that trains) and never above the kind's default, rounded
 * down to one significant digit.
 */
export function suggestedLr(lr: number, defaultLr: number): number {
  const x = Math.min(lr / 10, defaultLr);
  const unit = 10 ** Math.floor(Math.log10(x));
  return Number((Math.floor(x / unit + 1e-9) * unit).toPrecision(1));
}

/** A diverged run: the loss (NaN, ∞ or a nat above its start), where, and the learning rate to try. */
export function divergedError(what: string, loss: number, step: number, lr: number, defaultLr: number, startLoss?: number): TrainingError {
  const suggested = suggestedLr(lr, defaultLr);
  const how = Number.isFinite(loss) ? `exploded to ${loss.toFixed(3)} (it started at ${startLoss?.toFixed(3)})` : `became ${loss}`;
  const params: ReasonParams = { what, loss: Number.isFinite(loss) ? Number(loss.toFixed(3)) : String(loss), step, lr, suggestedLr: suggested };
  if (startLoss !== undefined && Number.isFinite(loss)) params.startLoss = Number(startLoss.toFixed(3));
  return new TrainingError(
    'diverged',
    `${what} ${how} at step ${step} with learning rate ${lr.toExponential(2)}`,
    `lower the learning rate, e.g. lr=${suggested.toExponential(0)}`,
    params,
  );
}

/** What helps a model that memorises its training text instead of learning from it. */
export const OVERFIT_SUGGESTION =
  'add more, and more varied, text; train fewer steps; raise model.dropout (e.g. 0.1); choose a smaller preset; or fine-tune a pre-trained base model instead';

export interface PretrainOptions {
  /** Text, files, or streams of text; each is one document (separated by <|endoftext|>). */
  corpus: CorpusSource | CorpusSource[];
  config?: Partial<PretrainConfig>;
  /** Use this tokenizer instead of training one on the corpus. */
  tokenizer?: Tokenizer;
  /** Continue pre-training this model (any family, e.g. an imported Llama; give its tokenizer too)
   * instead of a fresh GPT of `config.preset`; trained in place. */
  model?: CausalLM;
  /**
   * Output folder: `model/` the final model (best validation loss), `best/` the best so far,
   * `checkpoint/` the latest resumable state (weights + optimizer + progress).
   */
  outDir?: string;
  /** Continue from `${outDir}/checkpoint` when it exists. */
  resume?: boolean;
  onProgress?: (p: PretrainProgress) => void;
  /** Awaited before each resumable checkpoint is written, e.g. to store the progress reported up to it. */
  beforeCheckpoint?: () => Promise<void>;
  signal?: AbortSignal;
}

export interface EvalRecord {
  step: number;
  trainLoss: number;
  valLoss: number;
  bitsPerByte: number;
}

export interface PretrainResult {
  model: CausalLM;
  /** The TensorFlow.js backend that trained it, e.g. "wasm (SIMD, single thread)". */
  backend: string;
  tokenizer: Tokenizer;
  /** Steps actually trained. */
  steps: number;
  bestStep: number;
  bestValLoss: number;
  /** Set when training stopped early but left a usable (best) model. */
  stopped: { code: 'overfit-stopped'; message: string; suggestion: string; params: ReasonParams } | null;
  evals: EvalRecord[];
}

async function readCorpus(corpus: CorpusSource | CorpusSource[]): Promise<string[]> {
  const sources = Array.isArray(corpus) ? corpus : [corpus];
  const docs: string[] = [];
  for (const src of sources) {
    if (typeof src === 'string') docs.push(src);
    else if ('file' in src) docs.push(await readFile(src.file, 'utf8'));
    else {
      let text = '';
      for await (const chunk of src as AsyncIterable<string>) text += chunk;
      docs.push(text);
    }
  }
  return docs;
}

function validate(c: PretrainConfig): void {
  const bad = (field: string, value: unknown, want: string, suggestion: string) => {
    throw new TrainingError('invalid-config', `${field} must be ${want}, got ${String(value)}`, suggestion);
  };
  if (!Number.isFinite(c.lr) || c.lr <= 0) bad('lr', c.lr, 'a positive finite number', 'set lr to e.g. 1e-3');
  if (!Number.isFinite(c.minLr) || c.minLr < 0 || c.minLr > c.lr) bad('minLr', c.minLr, `a finite number in [0, lr]`, 'set minLr to lr / 10');
  for (const k of ['steps', 'batchSize', 'evalEvery', 'evalBatches', 'patience', 'threads'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) bad(k, c[k], 'a positive integer', `set ${k} to ${PRETRAIN_DEFAULTS[k]}`);
  }
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) bad('warmupSteps', c.warmupSteps, 'an integer ≥ 0', 'set warmupSteps to 100');
  if (!(c.valFraction > 0 && c.valFraction < 1)) bad('valFraction', c.valFraction, 'in (0, 1)', 'set valFraction to 0.1');
  if (!(c.gradClip >= 0)) bad('gradClip', c.gradClip, 'a number ≥ 0', 'set gradClip to 1');
  if (!Number.isInteger(c.microBatch) || c.microBatch < 0) bad('microBatch', c.microBatch, 'an integer ≥ 0', 'set microBatch to 0 (automatic)');
}

/** What one thread may spend on a pass's activations: the wasm heap stops at 4 GB, weights and optimizer need the rest. */
const ACTIVATION_BUDGET = 3e9;

/**
 * Heap bytes one batch row needs in a training pass: per token and layer the tensors kept for the
 * backward pass (~18 of width C, and H attention probabilities per earlier position), three of the
 * vocabulary's width for the logits, and about as much again in transient gradients (calibrated on
 * the small preset: 119 MB per row measured, 116 MB estimated).
 */
export function bytesPerRow(m: ModelConfig): number {
  const T = m.blockSize;
  return 2 * 4 * T * (m.nLayer * (18 * m.nEmbd + m.nHead * T) + 3 * m.vocabSize);
}

/**
 * Rows per pass for a batch of `rows` on each of `threads` threads: the configured microBatch, or the
 * fewest equal passes that fit the heap. A microBatch that cannot fit is refused before training.
 */
export function rowsPerPass(m: ModelConfig, rows: number, threads: number, microBatch: number): number {
  const perThread = Math.ceil(rows / threads);
  const fit = Math.max(1, Math.floor(ACTIVATION_BUDGET / bytesPerRow(m)));
  if (microBatch > 0) {
    if (Math.min(microBatch, perThread) > fit) {
      throw new TrainingError(
        'invalid-config',
        `microBatch ${microBatch} needs about ${((microBatch * bytesPerRow(m)) / 1e9).toFixed(1)} GB per thread, more than the 4 GB WebAssembly heap allows`,
        `set microBatch to ${fit} or less (or 0 to choose automatically)`,
      );
    }
    return Math.min(microBatch, perThread);
  }
  const passes = Math.ceil(perThread / fit);
  return Math.ceil(perThread / passes);
}

/** Random token windows and their next tokens; the batch of step s comes from a PRNG seeded by (seed, s). */
function batchAt(tokens: Int32Array, rows: number, T: number, rand: () => number): LmBatch {
  const x = new Int32Array(rows * T);
  const y = new Int32Array(rows * T);
  for (let b = 0; b < rows; b++) {
    const start = Math.floor(rand() * (tokens.length - T - 1));
    x.set(tokens.subarray(start, start + T), b * T);
    y.set(tokens.subarray(start + 1, start + T + 1), b * T);
  }
  return { x, y, rows, T };
}

/**
 * Loss and gradients of the batch mean, in passes of `passRows` rows (each split over the worker
 * threads when there are any); with several passes the gradients accumulate weighted by rows, each
 * pass with its own dropout seed.
 */
async function batchGradients(model: CausalLM, workers: GradientWorkers | null, batch: LmBatch, passRows: number, seed: number): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  const passGradients = (part: LmBatch, passSeed: number) =>
    workers
      ? workers.gradients(model, part, { training: true, seed: passSeed })
      : tf.tidy(() => {
          const r = model.gradients(() => lmLoss(model, part, true, passSeed));
          return { loss: r.loss.dataSync()[0], grads: r.grads };
        });
  if (passRows >= batch.rows) return passGradients(batch, seed);
  let loss = 0;
  let sum = null as Record<string, tf.Tensor> | null;
  for (let from = 0, pass = 0; from < batch.rows; from += passRows, pass++) {
    const to = Math.min(batch.rows, from + passRows);
    const part: LmBatch = { x: batch.x.subarray(from * batch.T, to * batch.T), y: batch.y.subarray(from * batch.T, to * batch.T), rows: to - from, T: batch.T };
    const g = await passGradients(part, seed * 64 + pass);
    const w = part.rows / batch.rows;
    loss += g.loss * w;
    const prev = sum;
    sum = tf.tidy(() => Object.fromEntries(Object.entries(g.grads).map(([k, v]) => [k, prev ? prev[k].add(v.mul(w)) : v.mul(w)])));
    tf.dispose(Object.values(g.grads));
    if (prev) tf.dispose(Object.values(prev));
  }
  return { loss, grads: sum! };
}

/**
 * Overfitting: the last `patience` or more evaluations all came after the best validation loss,
 * and the (smoothed) training loss fell since that best one. Returns how many evaluations have
 * passed since the best (0: not overfitting). Compared with the best rather than eval to eval, so
 * one noisy training loss does not reset the count: the seed's run, validation 7.4 → 8.1 at every
 * evaluation while training fell to 1.8, went unstopped under the eval-to-eval rule.
 */
export function overfitting(evals: readonly Pick<EvalRecord, 'trainLoss' | 'valLoss'>[], patience: number): number {
  if (evals.length === 0) return 0;
  let best = 0;
  evals.forEach((e, i) => {
    if (e.valLoss < evals[best].valLoss) best = i;
  });
  const since = evals.length - 1 - best;
  return since >= patience && evals[evals.length - 1].trainLoss < evals[best].trainLoss ? since : 0;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const c: PretrainConfig = { ...PRETRAIN_DEFAULTS, ...opts.config, model: { ...PRETRAIN_DEFAULTS.model, ...opts.config?.model } };
  validate(c);
  if (opts.model && !opts.tokenizer) throw new TrainingError('invalid-config', 'pretrain: a given model needs its tokenizer', 'pass the tokenizer the model was trained with');
  if (opts.model && opts.tokenizer && opts.model.config.vocabSize < opts.tokenizer.vocabSize) {
    throw new TrainingError('invalid-config', `pretrain: the tokenizer has ${opts.tokenizer.vocabSize} tokens, the model only ${opts.model.config.vocabSize}`, 'pass the tokenizer the model was trained with');
  }
  const checkpointDir = opts.outDir ? `${opts.outDir}/checkpoint` : undefined;
  const resuming = !!(opts.resume && checkpointDir && hasCheckpoint(checkpointDir));

  // Tokenizer and data.
  const docs = await readCorpus(opts.corpus);
  let tokenizer = opts.tokenizer;
  let model: CausalLM;
  let optimizer: AdamW;
  let state: Record<string, unknown> = {};
  if (resuming) {
    const ck = await loadCheckpoint(checkpointDir!);
    model = ck.model;
    tokenizer = ck.tokenizer ?? tokenizer;
    optimizer = ck.optimizer ?? new AdamW({ beta1: c.beta1, beta2: c.beta2, weightDecay: c.weightDecay });
    state = ck.state;
  }
  if (!tokenizer) {
    opts.onProgress?.({ phase: 'tokenizer', step: 0, steps: c.steps, lr: 0, trainLoss: NaN, tokensPerSecond: 0, etaSeconds: NaN });
    tokenizer = BpeTokenizer.train(docs, { vocabSize: c.vocabSize });
  }
  const eot = [tokenizer.eotId];
  // Concatenated without spreading: a document of ~100k+ tokens would overflow the call stack.
  const encoded = docs.flatMap((d) => [tokenizer.encode(d), eot]);
  const tokens = new Int32Array(encoded.reduce((n, ids) => n + ids.length, 0));
  let at = 0;
  for (const ids of encoded) {
    tokens.set(ids, at);
    at += ids.length;
  }
  const nVal = Math.floor(tokens.length * c.valFraction);
  const train = tokens.subarray(0, tokens.length - nVal);
  const val = tokens.subarray(tokens.length - nVal);
  const valText = tokenizer.decode(Array.from(val));
  const bytesPerToken = Buffer.byteLength(valText, 'utf8') / Math.max(1, val.length);

  model ??= opts.model ?? new GPT(gptConfig(c.preset, { ...c.model, vocabSize: tokenizer.vocabSize }), { seed: c.seed });
  optimizer ??= new AdamW({ beta1: c.beta1, beta2: c.beta2, weightDecay: c.weightDecay });
  const T = model.config.blockSize;
  if (train.length < T + 2 || val.length < T + 2) {
    throw new TrainingError(
      'invalid-config',
      `corpus too small: ${tokens.length} tokens give ${train.length} for training and ${val.length} for validation, each needs more than the context of ${T}`,
      'add text, or choose a smaller blockSize',
    );
  }

  const evals = (state.evals as EvalRecord[] | undefined) ?? [];
  let step = (state.step as number | undefined) ?? 0;
  let bestValLoss = (state.bestValLoss as number | undefined) ?? Infinity;
  let bestStep = (state.bestStep as number | undefined) ?? 0;
  let firstLoss = (state.firstLoss as number | undefined) ?? NaN;
  let best: Record<string, tf.Tensor> | null = null;
  if (resuming && opts.outDir && hasCheckpoint(`${opts.outDir}/best`)) {
    const b = await loadCheckpoint(`${opts.outDir}/best`);
    best = Object.fromEntries(Object.entries(b.model.params).map(([k, v]) => [k, tf.keep(v.clone())]));
    b.model.dispose();
  }
  let stopped: PretrainResult['stopped'] = null;
  const saveState = () => ({ step, bestValLoss, bestStep, firstLoss, evals, config: c });

  const evaluate = (): number =>
    tf.tidy(() => {
      const rand = mulberry32(c.seed ^ 0x5eed);
      let total = 0;
      for (let i = 0; i < c.evalBatches; i++) total += lmLoss(model, batchAt(val, c.batchSize, T, rand), false, 0).dataSync()[0];
      return total / c.evalBatches;
    });

  const threads = Math.min(c.threads, c.batchSize);
  // Rows in one pass over all threads; a larger batch accumulates gradients over several passes.
  const passRows = rowsPerPass(model.config, c.batchSize, threads, c.microBatch) * threads;
  const workers = threads > 1 ? await GradientWorkers.start(model, threads) : null;
  let emaStepMs = 0;
  let trainLossEma = NaN;
  try {
    while (step < c.steps) {
      if (opts.signal?.aborted) throw new TrainingError('aborted', `training aborted at step ${step}`);
      const lr = learningRate(step, c);
      if (!Number.isFinite(lr)) throw new TrainingError('invalid-config', `learning rate became ${lr} at step ${step}`, 'check lr, minLr and warmupSteps', { step });
      const t0 = performance.now();
      const rand = mulberry32((c.seed * 1000003 + step) >>> 0);
      const batch = batchAt(train, c.batchSize, T, rand);
      const seed = c.seed + step;
      const g = await batchGradients(model, workers, batch, passRows, seed);
      const loss = applyGradients(model, optimizer, g.loss, g.grads, { lr, gradClip: c.gradClip }).loss;
      tf.dispose(Object.values(g.grads));
      const stepMs = performance.now() - t0;
      emaStepMs = emaStepMs === 0 ? stepMs : 0.9 * emaStepMs + 0.1 * stepMs;
      if (Number.isNaN(firstLoss)) firstLoss = loss;
      trainLossEma = Number.isNaN(trainLossEma) ? loss : 0.9 * trainLossEma + 0.1 * loss;
      // A fresh model predicts about uniformly; ending up a nat worse than that is no noise.
      if (!Number.isFinite(loss) || (step >= 10 && trainLossEma > firstLoss + 1)) {
        throw divergedError('training loss', loss, step, lr, PRETRAIN_DEFAULTS.lr, firstLoss);
      }
      step++;
      const progress: PretrainProgress = {
        phase: 'train',
        step,
        steps: c.steps,
        lr,
        trainLoss: loss,
        tokensPerSecond: (c.batchSize * T * 1000) / stepMs,
        etaSeconds: ((c.steps - step) * emaStepMs) / 1000,
      };

      if (step % c.evalEvery === 0 || step === c.steps) {
        const valLoss = evaluate();
        const bitsPerByte = valLoss / Math.LN2 / bytesPerToken;
        evals.push({ step, trainLoss: trainLossEma, valLoss, bitsPerByte });
        Object.assign(progress, { phase: 'eval', valLoss, bitsPerByte });
        if (valLoss < bestValLoss) {
          bestValLoss = valLoss;
          bestStep = step;
          if (best) tf.dispose(Object.values(best));
          best = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, tf.keep(v.clone())]));
          if (opts.outDir) await saveCheckpoint(`${opts.outDir}/best`, { model, tokenizer, state: saveState() });
        }
        const since = overfitting(evals, c.patience);
        if (since) {
          const params = { evals: since, step, bestStep, bestValLoss: Number(bestValLoss.toFixed(4)), valLoss: Number(valLoss.toFixed(4)), trainLoss: Number(trainLossEma.toFixed(4)) };
          stopped = {
            code: 'overfit-stopped',
            message: `overfitting: validation loss has not improved for ${since} evaluations (now ${params.valLoss}) while training loss fell to ${params.trainLoss}; stopped at step ${step} and kept the best model (step ${bestStep}, validation loss ${params.bestValLoss})`,
            suggestion: OVERFIT_SUGGESTION,
            params,
          };
        }
      }
      opts.onProgress?.(progress);
      if (checkpointDir && (stopped || (c.checkpointEvery > 0 && step % c.checkpointEvery === 0))) {
        await opts.beforeCheckpoint?.();
        await saveCheckpoint(checkpointDir, { model, tokenizer, optimizer, state: saveState() });
      }
      if (stopped) break;
      await yieldToEventLoop();
    }

    // The result is the model of the best validation loss.
    if (best) {
      for (const [k, v] of Object.entries(model.params)) v.assign(best[k]);
    }
    if (opts.outDir) await saveCheckpoint(`${opts.outDir}/model`, { model, tokenizer, state: { step, bestStep, bestValLoss, evals } });
  } finally {
    await workers?.close();
    if (best) tf.dispose(Object.values(best));
    optimizer.dispose();
  }
  return { model, tokenizer, backend: backendInfo(), steps: step, bestStep, bestValLoss, stopped, evals };
}
