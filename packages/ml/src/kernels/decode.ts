// The sampling forward pass on the native kernels (native/decode.c): one call per step runs every layer
// of a GPT or Llama model over the new positions of a batch of rows, writing keys and values into a
// preallocated cache, and returns each row's next-token logits; decodePick then picks the tokens.
// The tfjs cached path costs ~150 kernel dispatches and a cache concatenation per layer for each token;
// this costs one call. The cache lives outside the wasm heap (plain Float32Arrays), one key and one
// value array per layer, [rows, kv heads, capacity, head size], so rows can sit at different positions
// (answers that stopped, prompts of different lengths) and K answers copy one prefilled prompt.
import * as tf from '@tensorflow/tfjs';
import type { GPTConfig } from '../models/gpt.ts';
import type { CausalLM } from '../models/index.ts';
import { rotaryTableData, type LlamaConfig } from '../models/llama.ts';
import type { WasmBackend } from './heap.ts';
import { native, nativeActive } from './native.ts';

type F32 = Float32Array;

interface DecodeKernels {
  decodeForward(dims: Int32Array, eps: number, loraScale: number, weights: (F32 | null)[], cacheK: F32[], cacheV: F32[], tokens: Int32Array, rows: Int32Array, pos: Int32Array, logits: F32): void;
  decodePick(logits: F32, n: number, V: number, temperature: number, topK: number, topP: number, rands: Float64Array, out: Int32Array): void;
}

/** Keys and values of every layer for `rows` sequences of up to `capacity` positions. */
export interface DecodeCache {
  k: F32[];
  v: F32[];
  rows: number;
  capacity: number;
}

export interface PickOptions {
  temperature: number;
  topK: number;
  topP: number;
}

// Each layer's weights in decode.c's order; a linear is four slots (w, b, lora_a, lora_b), missing ones null.
const GPT_LAYER = ['ln_1.g', 'ln_1.b', 'attn.c_attn', 'attn.c_proj', 'ln_2.g', 'ln_2.b', 'mlp.c_fc', 'mlp.c_proj'];
const LLAMA_LAYER = ['attn_norm.g', 'attn.q', 'attn.k', 'attn.v', 'attn.o', 'mlp_norm.g', 'mlp.gate', 'mlp.up', 'mlp.down'];

export class NativeDecoder {
  private readonly kernels: DecodeKernels;
  private readonly family: 0 | 1;
  private readonly dims: { V: number; C: number; L: number; H: number; Hkv: number; F: number; blockSize: number; eps: number };
  private readonly rotary: { cos: F32; sin: F32 } | null = null;

  /** The decoder for a model, or null where it does not apply (no native kernels, or the cpu backend). */
  static of(model: CausalLM): NativeDecoder | null {
    if (!nativeActive() || !('decodeForward' in native!)) return null;
    return new NativeDecoder(model, native as unknown as DecodeKernels);
  }

  private constructor(private readonly model: CausalLM, kernels: DecodeKernels) {
    this.kernels = kernels;
    const c = model.config;
    if (c.family === 'llama') {
      const l = c as LlamaConfig;
      this.family = 1;
      this.dims = { V: l.vocabSize, C: l.nEmbd, L: l.nLayer, H: l.nHead, Hkv: l.nKvHead, F: l.hiddenSize, blockSize: l.blockSize, eps: l.normEps };
      this.rotary = rotaryTableData(l);
    } else {
      const g = c as GPTConfig;
      this.family = 0;
      this.dims = { V: g.vocabSize, C: g.nEmbd, L: g.nLayer, H: g.nHead, Hkv: g.nHead, F: 4 * g.nEmbd, blockSize: g.blockSize, eps: 1e-5 };
    }
  }

  get vocabSize(): number {
    return this.dims.V;
  }

  newCache(rows: number, capacity: number): DecodeCache {
    const { L, Hkv, C, H } = this.dims;
    const size = rows * Hkv * (C / H) * capacity;
    return { k: Array.from({ length: L }, () => new Float32Array(size)), v: Array.from({ length: L }, () => new Float32Array(size)), rows, capacity };
  }

  /** Copies the first `length` positions of cache row `from` into row `to` (K answers to one prompt). */
  copyRow(cache: DecodeCache, from: number, to: number, length: number): void {
    const { Hkv, C, H } = this.dims;
    const hs = C / H;
    const block = cache.capacity * hs;
    for (const arr of [...cache.k, ...cache.v]) {
      for (let g = 0; g < Hkv; g++) arr.copyWithin((to * Hkv + g) * block, (from * Hkv + g) * block, (from * Hkv + g) * block + length * hs);
    }
  }

  /**
   * Runs `T` new tokens for each of `rows.length` rows (tokens row-major [n, T]); row i goes to cache row
   * rows[i] from position pos[i]. Returns the next-token logits of each row's last new token, [n, V].
   */
  forward(cache: DecodeCache, tokens: Int32Array, rows: Int32Array, pos: Int32Array, T: number): F32 {
    const { V, C, L, H, Hkv, F, blockSize, eps } = this.dims;
    const n = rows.length;
    const lora = this.model.lora;
    const dims = Int32Array.from([this.family, V, C, L, H, Hkv, F, cache.capacity, cache.rows, lora?.rank ?? 0, T, n, blockSize]);
    const logits = new Float32Array(n * V);
    this.kernels.decodeForward(dims, eps, lora ? lora.alpha / lora.rank : 0, this.weights(), cache.k, cache.v, tokens, rows, pos, logits);
    return logits;
  }

  /** One token per row of logits [n, V], as sample.ts's pickToken; rands holds each row's uniform draw. */
  pick(logits: F32, n: number, opts: PickOptions, rands: Float64Array): Int32Array {
    const out = new Int32Array(n);
    this.kernels.decodePick(logits, n, this.dims.V, opts.temperature, opts.topK, opts.topP, rands, out);
    return out;
  }

  /** The weights: frozen ones' own arrays (outside the heap), else views of the wasm heap taken anew
   * for every call, as the heap may have grown since. */
  private weights(): (F32 | null)[] {
    const be = tf.backend() as unknown as WasmBackend;
    const { params: p, frozen } = this.model;
    const view = (name: string): F32 | null => frozen[name]?.data ?? (p[name] ? (be.typedArrayFromHeap(p[name]) as F32) : null);
    const linear = (name: string) => [view(`${name}.w`), view(`${name}.b`), view(`${name}.lora_a`), view(`${name}.lora_b`)];
    const layer = (names: string[], i: number) => names.flatMap((n) => (n.endsWith('.g') || n.endsWith('.b') ? [view(`h.${i}.${n}`)] : linear(`h.${i}.${n}`)));
    const { L } = this.dims;
    if (this.family === 0) return [view('wte'), view('wpe'), view('ln_f.g'), view('ln_f.b'), ...Array.from({ length: L }, (_, i) => layer(GPT_LAYER, i)).flat()];
    return [view('wte'), view('norm_f.g'), view('lm_head.w'), this.rotary!.cos, this.rotary!.sin, ...Array.from({ length: L }, (_, i) => layer(LLAMA_LAYER, i)).flat()];
  }
}
