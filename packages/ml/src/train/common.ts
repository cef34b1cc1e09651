// What the fine-tuning trainers (SFT, reward model, PPO, DPO) share: examples rendered with the
// chat template, padded batches, per-answer log-probabilities, model copies, seeded shuffling
// and config checks.
import * as tf from '@tensorflow/tfjs';
import { renderChat, type ChatTurn } from '../chat.ts';
import { GPT } from '../gpt.ts';
import { TrainingError } from '../pretrain.ts';
import { mulberry32 } from '../sample.ts';
import type { Tokenizer } from '../tokenizer.ts';

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

/** A rendered sequence: ids and the mask of the answer's tokens (its content and <|end|>). */
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
  const { ids, lossMask } = renderChat(tok, [...promptTurns(prompt), { role: 'assistant', content: answer }], { lastAssistantOnly: true });
  if (ids.length <= max) return { ids, mask: lossMask };
  if (keep === 'end') return { ids: ids.slice(-max), mask: lossMask.slice(-max) };
  const header = lossMask.indexOf(1) - 1; // the <|assistant|> token opening the answer
  const start = Math.min(ids.length - max, Math.max(0, header));
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
export function answerLogProbs(model: GPT, batch: Batch, opts: { training?: boolean; seed?: number } = {}): tf.Tensor1D {
  const { logProbs } = model.forward(batch.x, { targets: batch.y, ...opts });
  return logProbs!.mul(batch.mask).sum(1) as tf.Tensor1D;
}

/** The scalar head's output at each row's last real position, [B]. */
export function lastHeadValues(head: tf.Tensor2D, last: readonly number[]): tf.Tensor1D {
  const T = head.shape[1];
  const flat = tf.tensor1d(last.map((t, b) => b * T + t), 'int32');
  return tf.gather(head.reshape([-1]), flat) as tf.Tensor1D;
}

/** An independent copy of a model (adapters merged into the weights when `merge`). */
export function cloneModel(model: GPT, opts: { merge?: boolean; seed?: number } = {}): GPT {
  const copy = new GPT(model.config, { seed: opts.seed ?? 0 });
  if (model.lora) copy.addLora(model.lora);
  if (model.hasHead) copy.attachHead();
  for (const [name, v] of Object.entries(model.params)) copy.params[name].assign(v);
  if (opts.merge) copy.mergeLora();
  return copy;
}

/** Removes the scalar head (e.g. PPO's value head from the finished policy). */
export function detachHead(model: GPT): void {
  for (const name of ['head.w', 'head.b']) {
    model.params[name]?.dispose();
    delete model.params[name];
  }
}

/** Copies of the trainable weights (to restore the best model later). */
export function snapshot(model: GPT): Record<string, tf.Tensor> {
  return Object.fromEntries(model.trainableNames().map((n) => [n, tf.keep(model.params[n].clone())]));
}

export function restore(model: GPT, saved: Record<string, tf.Tensor>): void {
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

/** A NaN or infinite loss stops training with a hint to lower the learning rate. */
export function checkFinite(value: number, what: string, step: number, lr: number): void {
  if (!Number.isFinite(value)) {
    throw new TrainingError('diverged', `${what} became ${value} at step ${step} with learning rate ${lr.toExponential(2)}`, `lower the learning rate, e.g. lr=${(lr / 3).toExponential(1)}`);
  }
}

type Rule = 'positive' | 'positiveInt' | 'nonNegative' | 'nonNegativeInt' | 'fraction';

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
