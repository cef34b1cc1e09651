// How much memory a model needs to be held, sampled, or fine-tuned (LoRA or every weight), and the
// pre-flight check that refuses a model too large before any work. Tensors live in the wasm
// backend's heap, which stops at 4 GB (wasm32 addresses), except frozen weights (`frozen`: the base
// weights when sampling or under LoRA, on the native kernels; kernels/frozen.ts), which live in the
// process's own memory and are bounded by the machine's free RAM instead.
// The estimates are calibrated on GPT-2 small (124M): see docs/benchmarks.md, "Memory".
import { freemem } from 'node:os';
import type { LoraConfig, ModelConfig } from './models/index.ts';
import { TrainingError } from './pretrain.ts';

/** tfjs-backend-wasm's heap maximum (emscripten's getHeapMax: 4 GiB − 64 KiB). */
export const WASM_HEAP_LIMIT = 4294901760;

export type MemoryTask = 'sample' | 'lora' | 'full';

export interface MemoryOptions {
  /** Sequences per pass (training) or answers sampled at once; default 1. */
  rows?: number;
  /** Positions per sequence (capped at the context); default the whole context. */
  tokens?: number;
  lora?: LoraConfig;
  /** The trainer adds the chat tokens (a base without a chat format): a grown copy of the model
   * exists beside the base, and its embedding (and an untied LM head) train in full. */
  grownEmbedding?: boolean;
  /** Other tensors held in the heap meanwhile, e.g. PPO's reward model. */
  alsoHeldBytes?: number;
  /** How a refusal names the setting that sets `rows`, and rows per unit of it (a preference pair is
   * two rows); default { name: 'batchSize', rowsPerItem: 1 }. */
  batch?: { name: string; rowsPerItem: number };
  /** The base weights are held outside the heap (sample and LoRA; full fine-tuning trains every
   * weight in the heap and ignores this). */
  frozen?: boolean;
  /** RAM the frozen weights and the heap may take; default the free memory now (os.freemem). */
  ramLimitBytes?: number;
}

export interface MemoryEstimate {
  task: MemoryTask;
  parameters: number;
  /** float32 weights held once (frozen base weights are shared with the copy LoRA trains). */
  weightBytes: number;
  /** Of weightBytes, those held outside the heap (frozen). */
  frozenBytes: number;
  /** Copies, gradients and optimizer moments beyond the weights themselves (and alsoHeldBytes). */
  trainingBytes: number;
  /** Activations of one pass (kept for the backward pass, or the KV cache and logits when sampling). */
  activationBytes: number;
  /** Heap bytes: the weights in it, training state and activations. */
  totalBytes: number;
  limitBytes: number;
  /** Frozen weights plus the heap, against ramLimitBytes. */
  ramBytes: number;
  ramLimitBytes: number;
  fits: boolean;
}

/** Parameter count from the config alone (no tensors), as the model files would build it. */
export function parameterCount(m: ModelConfig): number {
  const { vocabSize: V, nLayer: L, nEmbd: C } = m;
  if (m.family === 'llama') {
    const kv = (C / m.nHead) * m.nKvHead;
    const F = m.hiddenSize;
    const perLayer = 2 * C + C * C + 2 * C * kv + C * C + 3 * C * F + (m.attentionBias ? C + 2 * kv : 0);
    return V * C + L * perLayer + C + (m.tiedEmbeddings ? 0 : C * V);
  }
  return V * C + m.blockSize * C + L * (12 * C * C + 13 * C) + 2 * C;
}

/** Adapter parameters LoRA adds (GPT: every linear; Llama: its targets, q and v by default). */
function loraCount(m: ModelConfig, lora: LoraConfig): number {
  const C = m.nEmbd;
  const r = lora.rank;
  if (m.family === 'llama') {
    const kv = (C / m.nHead) * m.nKvHead;
    const F = m.hiddenSize;
    const io: Record<string, [number, number]> = { q: [C, C], k: [C, kv], v: [C, kv], o: [C, C], gate: [C, F], up: [C, F], down: [F, C] };
    return m.nLayer * (lora.targets ?? ['q', 'v']).reduce((n, t) => n + r * ((io[t]?.[0] ?? 0) + (io[t]?.[1] ?? 0)), 0);
  }
  return m.nLayer * r * (C + 3 * C + C + C + C + 4 * C + 4 * C + C);
}

/**
 * Heap bytes of one training row of `tokens` positions: per token and layer the tensors kept for the
 * backward pass (GPT ~18 of width C, Llama ~8 of width C and 4 of the MLP's; LoRA's branches add
 * about 12 of width C on GPT, whose every linear is adapted), the attention probabilities (H per
 * earlier position), three of the vocabulary's width for the logits, and as much again in transient
 * gradients. Measured on GPT-2 small with LoRA at 256 tokens: ~970 MB per row (estimate 950 MB).
 */
export function trainingBytesPerRow(m: ModelConfig, tokens: number, lora: boolean): number {
  const C = m.nEmbd;
  const width = m.family === 'llama' ? 8 * C + 4 * m.hiddenSize + (lora ? 2 * C : 0) : 18 * C + (lora ? 12 * C : 0);
  return 2 * 4 * tokens * (m.nLayer * (width + m.nHead * tokens) + 3 * m.vocabSize);
}

/**
 * Estimated peak heap of a task. sample: the weights, the KV cache of `rows` answers of `tokens`
 * positions, the prompt's logits and (tied embeddings) the LM head's cached transpose. lora: the
 * weights (the trained copy shares the frozen ones), the adapters with their gradients and AdamW moments, an allowance of twice the
 * embedding for the backward pass's transients (without it the estimate falls ~0.3 GB short of the
 * heap measured on GPT-2 small), and the activations. full: the base model, the trained copy, its gradients, AdamW's two moments and
 * the best weights kept for early stopping (six copies), and the activations. With `grownEmbedding`
 * one more copy of the weights, and under LoRA the gradients and moments of the token parameters.
 */
export function estimateMemory(m: ModelConfig, task: MemoryTask, opts: MemoryOptions = {}): MemoryEstimate {
  const rows = opts.rows ?? 1;
  const tokens = Math.min(opts.tokens ?? m.blockSize, m.blockSize);
  const parameters = parameterCount(m);
  const weightBytes = 4 * parameters;
  const frozenBytes = opts.frozen && task !== 'full' ? weightBytes : 0;
  const embedding = 4 * m.vocabSize * m.nEmbd;
  let trainingBytes = 0;
  let activationBytes: number;
  if (task === 'sample') {
    const kv = m.family === 'llama' ? (m.nEmbd / m.nHead) * m.nKvHead : m.nEmbd;
    // A frozen tied head needs no cached transpose of the embedding.
    activationBytes = rows * 4 * 2 * m.nLayer * tokens * kv + 2 * 4 * tokens * m.vocabSize + (frozenBytes ? 0 : embedding);
  } else {
    const adapters = task === 'lora' ? loraCount(m, opts.lora ?? { rank: 8, alpha: 16 }) : 0;
    trainingBytes = task === 'lora' ? 4 * 4 * adapters + 2 * embedding : 5 * weightBytes;
    if (opts.grownEmbedding) {
      const tokenParams = embedding * (m.family === 'llama' && !m.tiedEmbeddings ? 2 : 1);
      // The grown copy: in the heap whole, or (frozen) only its token parameters, which train in full.
      trainingBytes += (frozenBytes ? tokenParams : weightBytes) + (task === 'lora' ? 3 * tokenParams : 0);
    }
    activationBytes = rows * trainingBytesPerRow(m, tokens, task === 'lora');
  }
  trainingBytes += opts.alsoHeldBytes ?? 0;
  const totalBytes = weightBytes - frozenBytes + trainingBytes + activationBytes;
  const ramBytes = frozenBytes + totalBytes;
  const ramLimitBytes = opts.ramLimitBytes ?? freemem();
  // RAM is checked when it holds frozen weights; the heap alone stays within what it always took.
  const fits = totalBytes <= WASM_HEAP_LIMIT && (!frozenBytes || ramBytes <= ramLimitBytes);
  return { task, parameters, weightBytes, frozenBytes, trainingBytes, activationBytes, totalBytes, limitBytes: WASM_HEAP_LIMIT, ramBytes, ramLimitBytes, fits };
}

/**
 * Share of the heap a plan (rows per pass, a suggested batch) may use: the heap fragments and grows
 * ahead of use, so an estimate just under the limit can still abort. Measured: trainSft on GPT-2
 * small with LoRA, passes of 3 rows of 251 tokens, estimated 3.62 GB, ran at a 3.76 GB heap.
 */
export const PLANNING_SHARE = 0.9;

/** The most rows, up to `opts.rows`, whose estimate is within PLANNING_SHARE of the heap (0: not
 * even one); the estimate grows with rows. */
export function rowsThatFit(m: ModelConfig, task: MemoryTask, opts: MemoryOptions = {}): number {
  const planned = (rows: number) => {
    const e = estimateMemory(m, task, { ...opts, rows });
    return e.totalBytes <= PLANNING_SHARE * WASM_HEAP_LIMIT && (!e.frozenBytes || e.ramBytes <= e.ramLimitBytes);
  };
  let [lo, hi] = [0, opts.rows ?? 1];
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (planned(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
const WHAT: Record<MemoryTask, string> = { sample: 'holding and sampling', lora: 'LoRA fine-tuning', full: 'fine-tuning every weight of' };

/**
 * Throws TrainingError 'out-of-memory' when the estimate exceeds the heap, naming the estimate, its
 * parts and the limit, with what would fit. Call before loading or copying anything.
 */
export function checkMemory(m: ModelConfig, task: MemoryTask, opts: MemoryOptions = {}): MemoryEstimate {
  const e = estimateMemory(m, task, opts);
  if (e.fits) return e;
  const rows = opts.rows ?? 1;
  const tokens = Math.min(opts.tokens ?? m.blockSize, m.blockSize);
  const rest = `${e.trainingBytes ? ` + ${gb(e.trainingBytes)} copies, gradients and optimizer state` : ''} + ${gb(e.activationBytes)} for ${rows} × ${tokens} tokens`;
  const params = { task, parametersM: Math.round(e.parameters / 1e6), rows, tokens };
  const what = `${WHAT[task]} this ${(e.parameters / 1e6).toFixed(0)}M-parameter model needs about`;
  if (e.frozenBytes && e.ramBytes > e.ramLimitBytes) {
    // Frozen weights live in the process's own memory: the machine's free RAM is their limit.
    throw new TrainingError(
      'out-of-memory',
      `${what} ${gb(e.ramBytes)} (${gb(e.frozenBytes)} weights outside the heap${rest}), more than the ${gb(e.ramLimitBytes)} of RAM free on this machine`,
      'use a smaller model, or free memory (other jobs and processes on this machine hold the rest)',
      { ...params, estimateGb: Number((e.ramBytes / 1e9).toFixed(2)), limitGb: Number((e.ramLimitBytes / 1e9).toFixed(2)), limit: 'ram' },
    );
  }
  const heapWeights = e.weightBytes - e.frozenBytes;
  const parts = `${heapWeights ? `${gb(heapWeights)} weights` : `the ${gb(e.frozenBytes)} weights outside the heap`}${rest}`;
  const batch = opts.batch ?? { name: 'batchSize', rowsPerItem: 1 };
  const fitsWith = (task: MemoryTask, rows: number) => estimateMemory(m, task, { ...opts, rows }).fits;
  const suggestion =
    heapWeights + e.trainingBytes >= e.limitBytes
      ? task === 'full'
        ? 'train LoRA adapters instead (lora: { rank: 8, alpha: 16 }), or fine-tune this model outside Jielong (export it as a Hugging Face folder)'
        : task === 'sample'
          ? 'use a smaller model (docs/benchmarks.md lists which shapes fit)'
          : 'train LoRA adapters on a smaller model, or fine-tune this one outside Jielong (export it as a Hugging Face folder)'
      : task !== 'sample' && rows > batch.rowsPerItem && rowsThatFit(m, task, opts) >= batch.rowsPerItem
        ? `use ${batch.name} ${Math.floor(rowsThatFit(m, task, opts) / batch.rowsPerItem)} or less, or shorter examples`
        : task === 'full' && fitsWith('lora', rows)
          ? 'train LoRA adapters instead (lora: { rank: 8, alpha: 16 }): the frozen base weights need no gradients or optimizer state'
          : task === 'sample'
            ? 'generate fewer answers at once or shorter ones'
            : 'use shorter examples (fewer tokens per row) or a smaller model';
  throw new TrainingError(
    'out-of-memory',
    `${what} ${gb(e.totalBytes)}${heapWeights ? '' : ' of heap'} (${parts}), more than the ${gb(e.limitBytes)} WebAssembly heap`,
    suggestion,
    // For the web app's own wording of the reason (reasons.ts keys messages by code and params).
    { ...params, estimateGb: Number((e.totalBytes / 1e9).toFixed(2)), limitGb: Number((e.limitBytes / 1e9).toFixed(2)) },
  );
}
