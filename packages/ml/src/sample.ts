// Text generation: temperature, top-k, top-p (nucleus), max tokens, stop tokens, a seed, and a KV
// cache so each new token costs one position. K answers to one prompt are sampled as one batch, and
// several prompts too (generateBatch). On the native kernels the whole step is one call (kernels/decode.ts).
import * as tf from '@tensorflow/tfjs';
import { NativeDecoder } from './kernels/decode.ts';
import type { CausalLM, KVCache } from './models/index.ts';
import type { Tokenizer } from './tokenizers/index.ts';

export interface SampleOptions {
  /** New tokens per answer (default 64). */
  maxTokens?: number;
  /** 0 = greedy (argmax); default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** Token ids that end an answer; the stop token is not included in the output. */
  stop?: number[];
  /** Same seed, same model, same options → same tokens. */
  seed?: number;
  /** Number of answers to sample from the prompt (default 1). */
  n?: number;
  /** Use the KV cache (default true); false recomputes the whole context for every token. */
  cache?: boolean;
  /** Called with (answer index, token id) as tokens are chosen, e.g. to stream text. */
  onToken?: (answer: number, token: number) => void;
}

export interface Sample {
  tokens: number[];
  /** 'stop' when a stop token ended it, 'length' when maxTokens did. */
  finish: 'stop' | 'length';
  /** The stop token that ended it (finish 'stop'). */
  stopId?: number;
}

/**
 * Ids that end an answer: every special token. End of turn and end of text both end a sequence, and
 * a role header the model starts on its own begins a turn that is not its answer.
 */
export function specialStopIds(tokenizer: Pick<Tokenizer, 'vocabSize' | 'isSpecial'>): number[] {
  return Array.from({ length: tokenizer.vocabSize }, (_, id) => id).filter((id) => tokenizer.isSpecial(id));
}

/**
 * An answer's text: its bytes decoded as a whole (a character split over tokens stays whole), no
 * special token's text, and no U+FFFD for bytes that are not UTF-8 (a small model samples some, and
 * maxTokens may cut the last character).
 */
export function answerText(tokenizer: Pick<Tokenizer, 'decode'>, tokens: readonly number[]): string {
  return tokenizer.decode(tokens, { skipSpecial: true }).replace(/\uFFFD/g, '');
}

/** Small fast seeded PRNG (mulberry32): uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks a token from one row of logits. */
export function pickToken(logits: Float32Array, opts: { temperature: number; topK: number; topP: number }, rand: () => number): number {
  const V = logits.length;
  if (opts.temperature <= 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  if (opts.topK > 0 && opts.topK < V) order = order.slice(0, opts.topK);
  const max = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - max) / opts.temperature));
  let total = probs.reduce((s, p) => s + p, 0);
  if (opts.topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && cum < opts.topP * total) cum += probs[keep++];
    probs = probs.slice(0, Math.max(1, keep));
    total = probs.reduce((s, p) => s + p, 0);
  }
  let r = rand() * total;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i];
    if (r <= 0) return order[i];
  }
  return order[probs.length - 1];
}

/** Logits of the last position of every row, as one Float32Array per row. */
function lastLogits(model: CausalLM, rows: number[][], cache?: KVCache): Float32Array[] {
  const V = model.config.vocabSize;
  const last = tf.tidy(() => {
    const T = rows[0].length;
    const idx = tf.tensor2d(rows.flat(), [rows.length, T], 'int32');
    return model.forward(idx, { cache }).logits!.slice([0, T - 1, 0], [rows.length, 1, V]);
  });
  // Read outside the tidy: tidy walks whatever it returns, element by element for arrays.
  const data = last.dataSync() as Float32Array;
  last.dispose();
  return rows.map((_, i) => data.subarray(i * V, (i + 1) * V));
}

/** Samples `n` answers (token ids) continuing `prompt`. */
export function generate(model: CausalLM, prompt: number[], opts: SampleOptions = {}): Sample[] {
  if (prompt.length === 0) throw new Error('generate: the prompt must hold at least one token');
  const decoder = opts.cache === false ? null : NativeDecoder.of(model);
  if (!decoder) return generateTf(model, prompt, opts);
  return generateNative(decoder, model, [{ prompt, n: opts.n, seed: opts.seed }], opts, opts.onToken && ((_, i, t) => opts.onToken!(i, t)))[0];
}

/** One prompt of a batch: its own answer count and seed (default: the options'). */
export interface PromptRequest {
  prompt: number[];
  n?: number;
  seed?: number;
}

/**
 * Samples answers to several prompts at once: on the native kernels every answer of every prompt
 * advances in one batched step (rows at their own positions); elsewhere one prompt after another.
 * Each prompt's answers equal generate(model, prompt, { ...opts, n, seed }).
 */
export function generateBatch(model: CausalLM, requests: PromptRequest[], opts: Omit<SampleOptions, 'n' | 'seed' | 'onToken'> = {}): Sample[][] {
  if (requests.some((r) => r.prompt.length === 0)) throw new Error('generate: every prompt must hold at least one token');
  const decoder = opts.cache === false ? null : NativeDecoder.of(model);
  if (!decoder) return requests.map((r) => generateTf(model, r.prompt, { ...opts, n: r.n, seed: r.seed }));
  return generateNative(decoder, model, requests, opts);
}

/**
 * The sampling loop on the native decoder: each prompt is prefilled once into its first row and copied
 * to its other answers' rows; then every unfinished row takes one position per step. Picks draw from
 * each prompt's own seeded PRNG in answer order, as generateTf does, so the tokens are the same.
 */
function generateNative(
  decoder: NativeDecoder, model: CausalLM, requests: PromptRequest[], opts: Omit<SampleOptions, 'onToken'>,
  onToken?: (request: number, answer: number, token: number) => void,
): Sample[][] {
  const { blockSize } = model.config;
  const V = decoder.vocabSize;
  const maxTokens = opts.maxTokens ?? 64;
  const pick = { temperature: opts.temperature ?? 1, topK: opts.topK ?? 0, topP: opts.topP ?? 1 };
  const stop = new Set(opts.stop ?? []);
  interface Row { request: number; answer: number; seq: number[]; out: Sample }
  const rows: Row[] = [];
  const windows = requests.map((r) => r.prompt.slice(-blockSize));
  requests.forEach((r, request) => {
    for (let answer = 0; answer < (r.n ?? opts.n ?? 1); answer++) rows.push({ request, answer, seq: r.prompt.slice(), out: { tokens: [], finish: 'length' } });
  });
  const rands = requests.map((r) => mulberry32(r.seed ?? opts.seed ?? 0));
  const capacity = Math.min(blockSize, Math.max(...windows.map((w) => w.length)) + maxTokens);
  const cache = decoder.newCache(rows.length, capacity);
  // Prefill: each prompt once, its logits shared by all its answers.
  let active = rows.map((_, i) => i);
  let logits = new Float32Array(rows.length * V);
  let first = 0;
  windows.forEach((w, request) => {
    const count = rows.filter((r) => r.request === request).length;
    if (count === 0) return;
    const l = decoder.forward(cache, Int32Array.from(w), Int32Array.of(first), Int32Array.of(0), w.length);
    for (let j = 0; j < count; j++) {
      if (j > 0) decoder.copyRow(cache, first, first + j, w.length);
      logits.set(l, (first + j) * V);
    }
    first += count;
  });
  for (let step = 0; step < maxTokens && active.length; step++) {
    const draws = Float64Array.from(active, (i) => (pick.temperature > 0 ? rands[rows[i].request]() : 0));
    const picked = decoder.pick(logits, active.length, pick, draws);
    active.forEach((i, j) => {
      const row = rows[i];
      const t = picked[j];
      row.seq.push(t);
      if (stop.has(t)) {
        row.out.finish = 'stop';
        row.out.stopId = t;
      } else {
        row.out.tokens.push(t);
        onToken?.(row.request, row.answer, t);
      }
    });
    active = active.filter((i) => rows[i].out.finish !== 'stop');
    if (step === maxTokens - 1 || active.length === 0) break;
    // A row with room feeds its last token at the next position; a full one (positions would shift,
    // so cached keys no longer apply) recomputes its last blockSize tokens from position 0.
    const next = new Float32Array(active.length * V);
    const stepping = active.map((i, j) => ({ i, j })).filter(({ i }) => rows[i].seq.length - 1 < blockSize);
    if (stepping.length) {
      const l = decoder.forward(
        cache, Int32Array.from(stepping, ({ i }) => rows[i].seq.at(-1)!), Int32Array.from(stepping, ({ i }) => i), Int32Array.from(stepping, ({ i }) => rows[i].seq.length - 1), 1,
      );
      stepping.forEach(({ j }, k) => next.set(l.subarray(k * V, (k + 1) * V), j * V));
    }
    active.forEach((i, j) => {
      if (rows[i].seq.length - 1 < blockSize) return;
      next.set(decoder.forward(cache, Int32Array.from(rows[i].seq.slice(-blockSize)), Int32Array.of(i), Int32Array.of(0), blockSize), j * V);
    });
    logits = next;
  }
  return requests.map((_, request) => rows.filter((r) => r.request === request).map((r) => r.out));
}

/** generate on tfjs ops (the cpu backend, or without the native kernels), with the KVCache of models/layers.ts. */
function generateTf(model: CausalLM, prompt: number[], opts: SampleOptions): Sample[] {
  const { blockSize } = model.config;
  const n = opts.n ?? 1;
  const maxTokens = opts.maxTokens ?? 64;
  const pick = { temperature: opts.temperature ?? 1, topK: opts.topK ?? 0, topP: opts.topP ?? 1 };
  const stop = new Set(opts.stop ?? []);
  const rand = mulberry32(opts.seed ?? 0);

  const seqs = Array.from({ length: n }, () => prompt.slice());
  const out: Sample[] = Array.from({ length: n }, () => ({ tokens: [], finish: 'length' as const }));
  const done = new Array<boolean>(n).fill(false);
  let cache: KVCache | undefined = opts.cache === false ? undefined : model.newCache();
  try {
    // Prefill once for the prompt, then copy the cache for every answer.
    let logits: Float32Array[];
    if (cache) {
      const first = lastLogits(model, [prompt.slice(-blockSize)], cache)[0];
      cache.repeat(n);
      logits = seqs.map(() => first);
    } else {
      logits = lastLogits(model, seqs.map((s) => s.slice(-blockSize)));
    }
    for (let step = 0; step < maxTokens; step++) {
      for (let i = 0; i < n; i++) {
        if (done[i]) continue;
        const t = pickToken(logits[i], pick, rand);
        seqs[i].push(t);
        if (stop.has(t)) {
          done[i] = true;
          out[i].finish = 'stop';
          out[i].stopId = t;
          continue;
        }
        out[i].tokens.push(t);
        opts.onToken?.(i, t);
      }
      if (done.every(Boolean) || step === maxTokens - 1) break;
      // Finished answers keep a placeholder so the batch stays rectangular; their logits are ignored.
      const last = seqs.map((s, i) => (done[i] ? prompt[0] : s[s.length - 1]));
      if (cache && cache.length < blockSize) {
        logits = lastLogits(model, last.map((t) => [t]), cache);
      } else {
        // Context full: positions shift, so cached keys no longer apply; recompute the window.
        cache?.dispose();
        cache = undefined;
        logits = lastLogits(model, seqs.map((s, i) => (done[i] ? seqs.find((_, j) => !done[j])! : s).slice(-blockSize)));
      }
    }
  } finally {
    cache?.dispose();
  }
  return out;
}
