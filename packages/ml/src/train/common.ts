// What the fine-tuning trainers (SFT, reward model, PPO, DPO) share: examples rendered with the
// chat template, padded batches, per-answer log-probabilities, model copies, seeded shuffling,
// config checks, resumable checkpoints, and the epoch loop of SFT, reward model and DPO.
import * as tf from '@tensorflow/tfjs';
import { CHAT_TOKENS, chatFormat, renderChat, type ChatTurn } from '../chat.ts';
import { TOKEN_PARAMS, withChatTokens, type ChatReady } from '../chat-tokens.ts';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import { checkMemory, estimateMemory, rowsThatFit } from '../memory.ts';
import { createModel, type CausalLM, type LoraConfig } from '../models/index.ts';
import { AdamW, clipScale, globalNorm, learningRate } from '../optim.ts';
import { divergedError, TrainingError, type ReasonParams } from '../pretrain.ts';
import { mulberry32 } from '../sample.ts';
import type { Tokenizer } from '../tokenizers/index.ts';

/** A user message, or the conversation so far (ending with a user turn). */
export type Prompt = string | readonly ChatTurn[];

export interface PromptAnswer {
  prompt: Prompt;
  answer: string;
}

/** One comparison: raters preferred `chosen` to `rejected` for `prompt`. Pairs derived from one
 * ranking share a `group` id and are kept in the same batch. */
export interface PreferencePair {
  prompt: Prompt;
  chosen: string;
  rejected: string;
  group?: string | number;
}

export function promptTurns(prompt: Prompt): ChatTurn[] {
  return typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : [...prompt];
}

/** A rendered sequence: ids and the mask of the answer's tokens (its content and end of turn). */
export interface Row {
  ids: number[];
  mask: number[];
}

/**
 * prompt + answer through the chat template, cut to at most `max` tokens. `keep: 'start'` keeps
 * the assistant header and the start of the answer (dropping the oldest prompt tokens first,
 * then the answer's tail): for log-likelihood objectives, with max = blockSize + 1 (inputs plus
 * the shifted last target). `keep: 'end'` keeps the last tokens: for a reward read at the final
 * token, with max = blockSize.
 */
export function renderAnswer(tok: Tokenizer, prompt: Prompt, answer: string, max: number, keep: 'start' | 'end' = 'start'): Row {
  const { ids, lossMask, answerAt } = renderChat(tok, [...promptTurns(prompt), { role: 'assistant', content: answer }], { lastAssistantOnly: true });
  if (ids.length <= max) return { ids, mask: lossMask };
  if (keep === 'end') return { ids: ids.slice(-max), mask: lossMask.slice(-max) };
  const start = Math.min(ids.length - max, Math.max(0, answerAt)); // keep the assistant header
  return { ids: ids.slice(start, start + max), mask: lossMask.slice(start, start + max) };
}

export interface Batch {
  /** inputs [B, L−1], targets [B, L−1] (ids shifted by one), mask [B, L−1] on targets */
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  mask: tf.Tensor2D;
}

/** Pads rows to the longest one with `padId` (mask 0) and shifts targets. Call inside tf.tidy. */
export function padBatch(rows: readonly Row[], padId: number): Batch {
  const L = Math.max(...rows.map((r) => r.ids.length));
  const T = L - 1;
  const x = new Int32Array(rows.length * T).fill(padId);
  const y = new Int32Array(rows.length * T).fill(padId);
  const mask = new Float32Array(rows.length * T);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length - 1; t++) {
      x[b * T + t] = r.ids[t];
      y[b * T + t] = r.ids[t + 1];
      mask[b * T + t] = r.mask[t + 1];
    }
  });
  const shape: [number, number] = [rows.length, T];
  return {
    x: tf.tensor2d(x, shape, 'int32'),
    y: tf.tensor2d(y, shape, 'int32'),
    mask: tf.tensor2d(mask, shape),
  };
}

/** Whole sequences padded with `padId`, unshifted, and each one's last position. Inside tf.tidy. */
export function padSequences(seqs: readonly number[][], padId: number): { x: tf.Tensor2D; last: number[] } {
  const L = Math.max(...seqs.map((s) => s.length));
  const x = new Int32Array(seqs.length * L).fill(padId);
  seqs.forEach((s, b) => x.set(s, b * L));
  return { x: tf.tensor2d(x, [seqs.length, L], 'int32'), last: seqs.map((s) => s.length - 1) };
}

/** Sum of log p(answer token) over each row's masked positions: log π(answer | prompt), [B]. */
export function answerLogProbs(model: CausalLM, batch: Batch, opts: { training?: boolean; seed?: number } = {}): tf.Tensor1D {
  const { logProbs } = model.forward(batch.x, { targets: batch.y, ...opts });
  return logProbs!.mul(batch.mask).sum(1) as tf.Tensor1D;
}

/** The scalar head's output at each row's last real position, [B]. */
export function lastHeadValues(head: tf.Tensor2D, last: readonly number[]): tf.Tensor1D {
  const T = head.shape[1];
  const flat = tf.tensor1d(last.map((t, b) => b * T + t), 'int32');
  return tf.gather(head.reshape([-1]), flat) as tf.Tensor1D;
}

/** An independent copy of a model (adapters merged into the weights when `merge`). Weights frozen
 * outside the heap stay frozen and shared; `thaw` (all, or some names) moves them into the copy's
 * heap to train. */
export function cloneModel(model: CausalLM, opts: { merge?: boolean; seed?: number; thaw?: true | string[] } = {}): CausalLM {
  // On the model's own tensors: the copy shares them until it trains (frozen LoRA weights never do).
  const copy = createModel(model.config, { seed: opts.seed ?? 0, weights: { ...model.params, ...model.frozen } });
  if (model.lora) copy.addLora(model.lora);
  if (model.hasHead) copy.attachHead();
  for (const [name, v] of Object.entries(model.params)) copy.params[name].assign(v);
  if (opts.merge) copy.mergeLora();
  if (opts.thaw) copy.thaw(opts.thaw === true ? undefined : opts.thaw);
  return copy;
}

/** What a fine-tune trains in full: every weight without LoRA, else the named fullyTrained ones. */
export const thawedFor = (lora: LoraConfig | null | undefined, fullyTrained: string[] = []): true | string[] => (lora ? fullyTrained : true);

/** What one training pass holds: `rows` sequences, each as long as the longest of `lengths` (token
 * counts of the examples rendered with the tokenizer the run trains with). */
export interface Footprint {
  rows: number;
  lengths: (tokenizer: Tokenizer) => Iterable<number>;
  /** Rows per example: 2 for preference pairs (chosen and rejected). */
  rowsPerItem?: number;
  /** The trainer splits a batch into passes when it does not fit (gradient accumulation). */
  splittable?: boolean;
  /** The setting that sets `rows`, for a refusal's suggestion (default batchSize). */
  setting?: string;
}

/**
 * Refuses, before the base model is grown or copied, a fine-tune whose estimated heap exceeds the
 * 4 GB WebAssembly limit (TrainingError 'out-of-memory'); returns the rows per pass (all of them,
 * or for a splittable footprint the most that fit). A base without a chat format is counted with
 * the grown copy withChatTokens makes and its embedding trained in full.
 */
export function checkTrainingMemory(model: CausalLM, tokenizer: Tokenizer, lora: LoraConfig | null, footprint: Footprint): number {
  const grows = chatFormat(tokenizer) === 'plain';
  let tokens = 1;
  for (const n of footprint.lengths(grows ? tokenizer.withSpecialTokens(CHAT_TOKENS) : tokenizer)) tokens = Math.max(tokens, n);
  const task = lora ? 'lora' : 'full';
  const batch = { name: footprint.setting ?? 'batchSize', rowsPerItem: footprint.rowsPerItem ?? 1 };
  const opts = { rows: footprint.rows, tokens: Math.min(tokens, model.config.blockSize), lora: lora ?? undefined, grownEmbedding: grows, batch, frozen: Object.keys(model.frozen).length > 0 };
  // Passes plan within 90% of the heap; a single row only has to fit.
  const fit = footprint.splittable ? Math.max(rowsThatFit(model.config, task, opts), estimateMemory(model.config, task, { ...opts, rows: 1 }).fits ? 1 : 0) : 0;
  if (fit > 0) return fit;
  checkMemory(model.config, task, opts);
  return footprint.rows;
}

/**
 * The copy a fine-tune (SFT, reward, DPO) trains, and the tokenizer to train and save it with:
 * adapters merged, and for a base without a chat format the chat tokens added (withChatTokens).
 * New adapters (`lora`) are attached; with added tokens the embedding (and an untied LM head) train
 * in full beside them, or the new rows would stay at their starting mean.
 */
export function fineTuneStart(model: CausalLM, tokenizer: Tokenizer, opts: { lora?: LoraConfig | null; head?: boolean; footprint?: Footprint } = {}): ChatReady & { rowsPerPass: number } {
  checkLoraTargets(model, opts.lora);
  const rowsPerPass = opts.footprint ? checkTrainingMemory(model, tokenizer, opts.lora ?? null, opts.footprint) : Infinity;
  const ready = withChatTokens(model, tokenizer);
  const fullyTrained = ready.added ? Object.keys(TOKEN_PARAMS).filter((n) => ready.model.weightNames().includes(n)) : [];
  const copy = cloneModel(ready.model, { merge: true, thaw: thawedFor(opts.lora, fullyTrained) });
  if (ready.model !== model) ready.model.dispose();
  if (opts.head) copy.attachHead();
  if (opts.lora) copy.addLora(ready.added ? { ...opts.lora, fullyTrained } : opts.lora);
  return { ...ready, model: copy, rowsPerPass };
}

/** Refuses, before any work, LoRA targets the model's family has no module for (lora.targets). */
export function checkLoraTargets(model: CausalLM, lora: LoraConfig | null | undefined): void {
  const unknown = (lora?.targets ?? []).filter((t) => !model.loraModules.includes(t) && !model.loraModules.includes(`${t}_proj`));
  if (!unknown.length) return;
  throw new TrainingError(
    'invalid-config',
    `lora.targets: ${unknown.join(', ')} is not a module of this ${model.config.family ?? 'gpt'} model (it has ${model.loraModules.join(', ')})`,
    `choose lora.targets among ${model.loraModules.join(', ')}`,
    { field: 'lora.targets', targets: unknown.join(', '), modules: model.loraModules.join(', ') },
  );
}

/** Removes the scalar head (e.g. PPO's value head from the finished policy). */
export function detachHead(model: CausalLM): void {
  for (const name of ['head.w', 'head.b']) {
    model.params[name]?.dispose();
    delete model.params[name];
  }
}

/** Copies of the trainable weights (to restore the best model later). */
export function snapshot(model: CausalLM): Record<string, tf.Tensor> {
  return Object.fromEntries(model.trainableNames().map((n) => [n, tf.keep(model.params[n].clone())]));
}

export function restore(model: CausalLM, saved: Record<string, tf.Tensor>): void {
  for (const [n, t] of Object.entries(saved)) model.params[n].assign(t);
}

/** Fisher–Yates with a seeded PRNG. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Seeded split: the last `fraction` of a shuffle is held out (at least one item when fraction > 0). */
export function holdOut<T>(items: readonly T[], fraction: number, seed: number): { train: T[]; val: T[] } {
  const all = shuffled(items, seed);
  const nVal = fraction > 0 ? Math.max(1, Math.round(all.length * fraction)) : 0;
  return { train: all.slice(0, all.length - nVal), val: all.slice(all.length - nVal) };
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function checkAborted(signal: AbortSignal | undefined, step: number): void {
  if (signal?.aborted) throw new TrainingError('aborted', `training aborted at step ${step}`);
}

/** A NaN or infinite loss stops training with a learning rate to try (a tenth, at most `defaultLr`). */
export function checkFinite(value: number, what: string, step: number, lr: number, defaultLr = lr): void {
  if (!Number.isFinite(value)) throw divergedError(what, value, step, lr, defaultLr);
}

export type Rule = 'positive' | 'positiveInt' | 'nonNegative' | 'nonNegativeInt' | 'fraction';

/** Refuses a bad config before any work, naming the field: `rules` maps field → rule. */
export function checkConfig(config: object, rules: Record<string, Rule>, defaults: object): void {
  const c = config as Record<string, unknown>;
  const d = defaults as Record<string, unknown>;
  for (const [field, rule] of Object.entries(rules)) {
    const v = c[field] as number;
    const ok = typeof v === 'number' && Number.isFinite(v) && {
      positive: v > 0,
      positiveInt: v >= 1 && Number.isInteger(v),
      nonNegative: v >= 0,
      nonNegativeInt: v >= 0 && Number.isInteger(v),
      fraction: v >= 0 && v < 1,
    }[rule];
    if (!ok) {
      const want = { positive: 'a positive number', positiveInt: 'a positive integer', nonNegative: 'a number ≥ 0', nonNegativeInt: 'an integer ≥ 0', fraction: 'a number in [0, 1)' }[rule];
      throw new TrainingError('invalid-config', `${field} must be ${want}, got ${String(c[field])}`, `set ${field} to ${String(d[field])}`);
    }
  }
}

/** Throws invalid-config when a data set is empty or too small for its split. */
export function requireData(n: number, what: string, min = 1): void {
  if (n < min) throw new TrainingError('invalid-config', `${what}: need at least ${min}, got ${n}`, `provide more ${what}`);
}

/** What every fine-tuning trainer takes besides its models and data. */
export interface TrainerOptions<Config, Progress> {
  tokenizer: Tokenizer;
  config?: Partial<Config>;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /**
   * Where to keep a resumable checkpoint (weights, AdamW moments, trainer state), saved every
   * `checkpointEvery` steps. A run that finds one there continues from it and ends as the
   * uninterrupted run would have: batches and dropout depend only on the seed and the step.
   */
  checkpointDir?: string;
  /**
   * Awaited before each checkpoint is written, e.g. to store the progress reported up to it (a
   * resumed run reports only the steps after its checkpoint).
   */
  beforeCheckpoint?: () => Promise<void>;
}

/** A run's state as saved by saveTrainingState: `step` is the number of steps done. */
export interface TrainingState {
  state: { step: number } & Record<string, unknown>;
  optimizer: AdamW;
  /** Other tensors the trainer saved (kept: the caller disposes them). */
  extra: Record<string, tf.Tensor>;
}

/** Loads `dir`'s checkpoint into `model` (which must have the same parameters); null when there is none. */
export async function loadTrainingState(dir: string | undefined, model: CausalLM): Promise<TrainingState | null> {
  if (!dir || !hasCheckpoint(dir)) return null;
  // Frozen where the model is: a LoRA run's base weights need no heap twice.
  const ck = await loadCheckpoint(dir, { frozen: Object.keys(model.frozen).length > 0 });
  try {
    for (const [name, v] of Object.entries(model.params)) {
      if (!ck.model.weightNames().includes(name)) throw new Error(`checkpoint ${dir} lacks ${name}: it was saved by another kind of run`);
      const saved = ck.model.params[name];
      if (saved) v.assign(saved);
      else tf.tidy(() => v.assign(tf.tensor(ck.model.weightValues(name), v.shape, 'float32')));
    }
    if (!ck.optimizer) throw new Error(`checkpoint ${dir} has no optimizer state to resume with`);
  } catch (e) {
    ck.optimizer?.dispose();
    tf.dispose(Object.values(ck.extra));
    throw e;
  } finally {
    ck.model.dispose();
  }
  return { state: ck.state as TrainingState['state'], optimizer: ck.optimizer, extra: ck.extra };
}

export function saveTrainingState(dir: string, model: CausalLM, optimizer: AdamW, state: TrainingState['state'], extra?: Record<string, tf.Tensor>): Promise<void> {
  return saveCheckpoint(dir, { model, optimizer, state, extra });
}

/** True when `step` is one to checkpoint at. */
export const checkpointDue = (dir: string | undefined, every: number, step: number): dir is string => !!dir && every > 0 && step % every === 0;

// --- The epoch loop of SFT, reward model and DPO ----------------------------------------------

/** Hyper-parameters of the trainers that pass over their data in epochs (SFT, reward model, DPO). */
export interface EpochConfig {
  /** null: every weight trains; { rank, alpha }: only LoRA adapters (and a head) train, the base stays frozen. */
  lora: LoraConfig | null;
  epochs: number;
  /** Examples (or pairs) per step. */
  batchSize: number;
  /** Peak learning rate (after warmupSteps), cosine-decayed to minLr. LoRA usually wants ~3× more. */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Max global gradient norm (0 = no clipping). */
  gradClip: number;
  /** Share of the data (examples, or rankings) held out for validation. */
  valFraction: number;
  /** Evaluate every this many steps (and at the end). */
  evalEvery: number;
  /** Save a resumable checkpoint every this many steps (needs checkpointDir; 0 = never). */
  checkpointEvery: number;
  seed: number;
}

export const EPOCH_DEFAULTS: EpochConfig = {
  lora: null,
  epochs: 1,
  batchSize: 8,
  lr: 1e-4,
  minLr: 1e-5,
  warmupSteps: 10,
  weightDecay: 0,
  gradClip: 1,
  valFraction: 0.1,
  evalEvery: 50,
  checkpointEvery: 50,
  seed: 1337,
};

export const EPOCH_RULES: Record<Exclude<keyof EpochConfig, 'lora' | 'seed'>, Rule> = {
  epochs: 'positiveInt',
  batchSize: 'positiveInt',
  lr: 'positive',
  minLr: 'nonNegative',
  warmupSteps: 'nonNegativeInt',
  weightDecay: 'nonNegative',
  gradClip: 'nonNegative',
  valFraction: 'fraction',
  evalEvery: 'positiveInt',
  checkpointEvery: 'nonNegativeInt',
};

/** What every epoch trainer reports of a step; each adds its own numbers. */
export interface StepProgress {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  etaSeconds: number;
}

/** Held-out metrics at each evaluation, with the smoothed training loss. */
export type EvalRecords<E> = ({ step: number; trainLoss: number } & E)[];

/** One epoch trainer, as the loop needs it. B: a batch, X: numbers read off a step, E: held-out metrics. */
export interface EpochLoop<B, X, E, P> {
  /** The copy being trained, in place; disposed when training fails. */
  model: CausalLM;
  config: EpochConfig;
  options: Pick<TrainerOptions<unknown, P>, 'onProgress' | 'signal' | 'checkpointDir' | 'beforeCheckpoint'>;
  /** The objective's name in a divergence message, e.g. "SFT loss". */
  lossName: string;
  /** An epoch's batches in order; the same for the same epoch on every run. */
  batches: (epoch: number) => B[];
  /** A batch's loss (dropout seeded by `seed`) and numbers read on the forward pass, e.g. accuracy. */
  loss: (batch: B, seed: number) => { loss: tf.Scalar; stats: X };
  /** Splits a batch too large for one pass into parts, each with its share of the batch's loss
   * (gradients are accumulated over them); absent or one part: one pass. Needs mergeStats. */
  split?: (batch: B) => { part: B; weight: number }[];
  /** The stats of a batch from those of its parts. */
  mergeStats?: (a: X, b: X) => X;
  /** Held-out metrics of the model as it is now. */
  evaluate: () => E;
  /** Keep the weights of the lowest `score` and stop after `patience` evaluations without a lower one. */
  earlyStopping?: { score: (e: E) => number; patience: number };
  /** The trainer's progress record of a step (`evaluated` on evaluation steps). */
  progress: (p: StepProgress, step: { stats: X; ms: number; evaluated?: E }) => P;
  /** What the trainer keeps besides the loop's own state (e.g. data it sampled), saved with each checkpoint and handed back on resume. */
  state?: { save: () => Record<string, unknown>; restore: (saved: Record<string, unknown>) => void };
}

/** What the trainers on preference pairs (reward model, DPO) report besides their model. */
export interface PairTrainingResult<E> {
  steps: number;
  trainPairs: number;
  valPairs: number;
  /** Held-out metrics before training and after. */
  initial: E;
  final: E;
  evals: EvalRecords<E>;
}

export interface EpochsResult<E> {
  steps: number;
  /** Held-out metrics before training, and of the model trained (the best one under early stopping). */
  initial: E;
  final: E;
  /** The step the trained model is from (0: the starting model was never beaten). */
  bestStep: number;
  evals: EvalRecords<E>;
  stopped: { code: 'early-stopped'; message: string; params: ReasonParams } | null;
}

interface EpochState<E> {
  step: number;
  initial: E;
  evals: EvalRecords<E>;
  trainLossEma: number;
  /** The latest held-out metrics, and the best ones with their step (under early stopping). */
  latest: E;
  best: E;
  bestStep: number;
  /** Evaluations in a row without a better score. */
  stale: number;
  [k: string]: unknown;
}

const startState = <E>(initial: E): EpochState<E> => ({ step: 0, initial, evals: [], trainLossEma: NaN, latest: initial, best: initial, bestStep: 0, stale: 0 });

/**
 * One batch's loss and gradients, in passes when the loop splits it (gradient accumulation: each
 * pass's loss is weighted by its share, so the summed gradients are the whole batch's), then
 * `update` with the loss and the gradients.
 */
function trainStep<B, X, E, P>(loop: EpochLoop<B, X, E, P>, batch: B, seed: number, update: (loss: number, grads: Record<string, tf.Tensor>) => void): { loss: number; stats: X } {
  const passes = loop.split?.(batch) ?? [{ part: batch, weight: 1 }];
  let stats: X | undefined;
  let loss = 0;
  const grads: Record<string, tf.Tensor> = {};
  try {
    for (const { part, weight } of passes) {
      tf.tidy(() => {
        const out = loop.model.gradients(() => {
          const o = loop.loss(part, seed);
          // read here: the forward pass's tensors are freed before the backward pass
          stats = stats === undefined ? o.stats : loop.mergeStats!(stats, o.stats);
          return passes.length === 1 ? o.loss : o.loss.mul(weight);
        });
        loss += out.loss.dataSync()[0];
        for (const [name, g] of Object.entries(out.grads)) {
          const sum = grads[name];
          grads[name] = tf.keep(sum ? sum.add(g) : g);
          sum?.dispose();
        }
      });
    }
    tf.tidy(() => update(loss, grads));
  } finally {
    tf.dispose(Object.values(grads));
  }
  return { loss, stats: stats! };
}

/**
 * Trains `loop.model` over epochs of batches: warm-up + cosine learning rate, AdamW with gradient
 * clipping, evaluation every `evalEvery` steps and at the end, optional early stopping, and a
 * resumable checkpoint every `checkpointEvery` steps.
 */
export async function trainEpochs<B, X, E extends object, P>(loop: EpochLoop<B, X, E, P>): Promise<EpochsResult<E>> {
  const { model, config: c, options: opts, earlyStopping: es } = loop;
  const steps = c.epochs * loop.batches(0).length;
  const schedule = { lr: c.lr, minLr: Math.min(c.minLr, c.lr), warmupSteps: c.warmupSteps, steps };
  let optimizer: AdamW | undefined;
  let best: Record<string, tf.Tensor> | undefined;
  try {
    const resumed = await loadTrainingState(opts.checkpointDir, model);
    optimizer = resumed?.optimizer ?? new AdamW({ weightDecay: c.weightDecay });
    if (resumed) loop.state?.restore(resumed.state.trainer as Record<string, unknown>);
    const s = (resumed?.state as EpochState<E> | undefined) ?? startState(loop.evaluate());
    if (es) best = resumed ? resumed.extra : snapshot(model);
    else if (resumed) tf.dispose(Object.values(resumed.extra));
    let stopped: EpochsResult<E>['stopped'] = null;
    let emaMs = 0;
    let done = 0;
    for (let epoch = 0; epoch < c.epochs && !stopped; epoch++) {
      const batches = loop.batches(epoch);
      for (const [i, batch] of batches.entries()) {
        if (done++ < s.step) continue; // trained before the checkpoint
        checkAborted(opts.signal, s.step);
        const step = s.step;
        const lr = learningRate(step, schedule);
        const t0 = performance.now();
        const { loss, stats } = trainStep(loop, batch, c.seed + step, (value, grads) => {
          checkFinite(value, loop.lossName, step, lr);
          optimizer!.apply(model.params, grads, lr, clipScale(globalNorm(grads), c.gradClip));
        });
        const ms = performance.now() - t0;
        emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
        s.trainLossEma = Number.isNaN(s.trainLossEma) ? loss : 0.9 * s.trainLossEma + 0.1 * loss;
        s.step++;
        let evaluated: E | undefined;
        const last = epoch === c.epochs - 1 && i === batches.length - 1;
        if (s.step % c.evalEvery === 0 || s.step === steps || last) {
          evaluated = s.latest = loop.evaluate();
          s.evals.push({ step: s.step, trainLoss: s.trainLossEma, ...evaluated });
          if (es && es.score(evaluated) < es.score(s.best)) {
            [s.best, s.bestStep, s.stale] = [evaluated, s.step, 0];
            tf.dispose(Object.values(best!));
            best = snapshot(model);
          } else if (es && ++s.stale >= es.patience) {
            const bestValLoss = Number(es.score(s.best).toFixed(4));
            stopped = {
              code: 'early-stopped',
              message: `validation loss did not improve for ${s.stale} evaluations; stopped at step ${s.step} and kept the best model (step ${s.bestStep}, validation loss ${bestValLoss})`,
              params: { evals: s.stale, step: s.step, bestStep: s.bestStep, bestValLoss },
            };
          }
        }
        const etaSeconds = (Math.max(0, steps - s.step) * emaMs) / 1000;
        opts.onProgress?.(loop.progress({ phase: evaluated ? 'eval' : 'train', step: s.step, steps, epoch, lr, trainLoss: loss, etaSeconds }, { stats, ms, evaluated }));
        if (stopped) break;
        if (checkpointDue(opts.checkpointDir, c.checkpointEvery, s.step)) {
          await opts.beforeCheckpoint?.();
          await saveTrainingState(opts.checkpointDir, model, optimizer, loop.state ? { ...s, trainer: loop.state.save() } : s, best);
        }
        await yieldToEventLoop();
      }
    }
    if (es) restore(model, best!);
    return { steps: s.step, initial: s.initial, final: es ? s.best : s.latest, bestStep: es ? s.bestStep : s.step, evals: s.evals, stopped };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer?.dispose();
    if (best) tf.dispose(Object.values(best));
  }
}
