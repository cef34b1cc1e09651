/**
 * Llama: the decoder-only transformer of Llama 1-3, Mistral, TinyLlama, SmolLM and (with q/k/v
 * biases) Qwen2, in TensorFlow.js. One file top to bottom, after transformers' modeling_llama.py:
 * RMSNorm, rotary embeddings, the SwiGLU MLP, grouped-query attention, the decoder layer, then the
 * model with its LM head and the optional scalar head.
 *
 *   token embedding → nLayer × [x + attn(RMSNorm(x)), x + mlp(RMSNorm(x))] → RMSNorm → logits
 *
 * Layout of the weights (every matrix [in, out], as in gpt.ts: y = x·W):
 *   wte [V, C]                      token embedding; also the LM head when tiedEmbeddings
 *   h.{i}.attn_norm.g [C]           RMSNorm before attention
 *   h.{i}.attn.q.w [C, H·hs]        q/k output columns in rotate-half order within each head
 *   h.{i}.attn.k.w, .v.w [C, Hkv·hs] (HF's convention; llama2.c's interleaved pairs are converted on import)
 *   h.{i}.attn.{q,k,v}.b            only with attentionBias (Qwen2)
 *   h.{i}.attn.o.w [H·hs, C]
 *   h.{i}.mlp_norm.g [C]            RMSNorm before the MLP
 *   h.{i}.mlp.gate.w, .up.w [C, F]  down(silu(gate(x)) · up(x))
 *   h.{i}.mlp.down.w [F, C]
 *   norm_f.g [C]                    final RMSNorm
 *   lm_head.w [C, V]                only when the embeddings are not tied
 *   head.w [C, 1], head.b [1]       scalar head, after attachHead()
 * LoRA adds `<name>.lora_a` [in, r] and `<name>.lora_b` [r, out] on the chosen projections.
 * The forward options and results are those of every CausalLM (./index.ts, ./layers.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAttention } from '../kernels/fused.ts';
import { nativeActive } from '../kernels/native.ts';
import { ModelBase } from './base.ts';
import type { CausalLM } from './index.ts';
import { causalMask, KVCache, tokenLogProbs, type ForwardOptions, type ForwardResult, type LoraConfig, type ModelOptions } from './layers.ts';

/** Context extension of the rotary frequencies, as HF's `rope_scaling`. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface LlamaConfig {
  family: 'llama';
  vocabSize: number;
  /** Context length: the longest sequence the model sees. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  /** Key/value heads (grouped-query attention): nHead for plain multi-head, 1 for multi-query. */
  nKvHead: number;
  nEmbd: number;
  /** Width of the MLP (HF's intermediate_size). */
  hiddenSize: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling | null;
  normEps: number;
  /** The LM head is the token embedding (no lm_head.w). */
  tiedEmbeddings: boolean;
  /** Biases on q, k and v (Qwen2). */
  attentionBias: boolean;
  /** On embeddings and residual branches while training; 0 (off) by default, as in Llama. */
  dropout?: number;
}

type Sizes = Pick<LlamaConfig, 'vocabSize' | 'blockSize' | 'nLayer' | 'nHead' | 'nEmbd' | 'hiddenSize'>;

/** A checked config: defaults (Llama 2's) for what is not given, every size validated in one place. */
export function llamaConfig(c: Sizes & Partial<LlamaConfig>): LlamaConfig {
  const config: LlamaConfig = {
    nKvHead: c.nHead,
    ropeTheta: 10000,
    ropeScaling: null,
    normEps: 1e-5,
    tiedEmbeddings: false,
    attentionBias: false,
    dropout: 0,
    ...c,
    family: 'llama',
  };
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nKvHead', 'nEmbd', 'hiddenSize'] as const) {
    if (!(Number.isInteger(config[k]) && config[k] > 0)) throw new Error(`llama config: ${k} must be a positive integer, got ${config[k]}`);
  }
  if (config.nEmbd % config.nHead !== 0) throw new Error(`llama config: nEmbd (${config.nEmbd}) must be a multiple of nHead (${config.nHead})`);
  if (config.nHead % config.nKvHead !== 0) throw new Error(`llama config: nHead (${config.nHead}) must be a multiple of nKvHead (${config.nKvHead})`);
  if ((config.nEmbd / config.nHead) % 2 !== 0) throw new Error(`llama config: the head size (${config.nEmbd / config.nHead}) must be even for rotary embeddings`);
  if (!(config.ropeTheta > 0)) throw new Error(`llama config: ropeTheta must be positive, got ${config.ropeTheta}`);
  if (!(config.normEps > 0)) throw new Error(`llama config: normEps must be positive, got ${config.normEps}`);
  const s = config.ropeScaling;
  if (s && !(s.factor > 0 && (s.type === 'linear' || (s.type === 'llama3' && s.highFreqFactor > s.lowFreqFactor && s.originalContext > 0)))) {
    throw new Error(`llama config: unsupported ropeScaling ${JSON.stringify(s)}`);
  }
  return config;
}

/** Projections LoRA may adapt, by short name → parameter prefix (without the layer). */
const PROJECTIONS: Record<string, string> = { q: 'attn.q', k: 'attn.k', v: 'attn.v', o: 'attn.o', gate: 'mlp.gate', up: 'mlp.up', down: 'mlp.down' };
const DEFAULT_LORA_TARGETS = ['q', 'v'];

// ── RMSNorm ─────────────────────────────────────────────────────────────────────────────────────
/** x / √(mean(x²) + eps) · g over the last axis. */
function rmsNorm(x: tf.Tensor2D, g: tf.Tensor, eps: number): tf.Tensor2D {
  return x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(g);
}

// ── Rotary embeddings ───────────────────────────────────────────────────────────────────────────
/** Inverse frequencies θ^(−2j/hs), j < hs/2, with the config's context scaling. */
export function ropeInverseFrequencies(headSize: number, theta: number, scaling?: RopeScaling | null): Float64Array {
  const half = headSize / 2;
  const inv = Float64Array.from({ length: half }, (_, j) => 1 / theta ** ((2 * j) / headSize));
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
  const { factor, lowFreqFactor, highFreqFactor, originalContext } = scaling;
  const lowWavelen = originalContext / lowFreqFactor;
  const highWavelen = originalContext / highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos and sin of position·frequency for every position, [blockSize, hs], each half repeated (also kernels/decode.ts's). */
export function rotaryTableData(config: LlamaConfig): { cos: Float32Array; sin: Float32Array } {
  const hs = config.nEmbd / config.nHead;
  const inv = ropeInverseFrequencies(hs, config.ropeTheta, config.ropeScaling);
  const cos = new Float32Array(config.blockSize * hs);
  const sin = new Float32Array(config.blockSize * hs);
  for (let p = 0; p < config.blockSize; p++) {
    inv.forEach((f, j) => {
      const a = p * f;
      cos[p * hs + j] = cos[p * hs + j + hs / 2] = Math.cos(a);
      sin[p * hs + j] = sin[p * hs + j + hs / 2] = Math.sin(a);
    });
  }
  return { cos, sin };
}

function rotaryTables(config: LlamaConfig): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const { cos, sin } = rotaryTableData(config);
  const hs = config.nEmbd / config.nHead;
  return { cos: tf.tensor2d(cos, [config.blockSize, hs]), sin: tf.tensor2d(sin, [config.blockSize, hs]) };
}

/** Rotates [B, T, heads, hs] by position: x·cos + rotate_half(x)·sin, with cos/sin [T, hs]. */
function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const [B, T, Hh, hs] = x.shape;
  const half = hs / 2;
  const x1 = tf.slice(x, [0, 0, 0, 0], [B, T, Hh, half]);
  const x2 = tf.slice(x, [0, 0, 0, half], [B, T, Hh, half]);
  const rotated = tf.concat([x2.neg(), x1], 3);
  return x.mul(cos.reshape([1, T, 1, hs])).add(rotated.mul(sin.reshape([1, T, 1, hs])));
}

// ── Grouped-query attention ─────────────────────────────────────────────────────────────────────
/** Repeats each of the `heads` groups of [.., heads, rest] `times` in place (HF's repeat_kv). */
function repeatKv(x: tf.Tensor, outer: number, heads: number, rest: number, times: number): tf.Tensor {
  if (times === 1) return x;
  const grouped = x.reshape([outer * heads, 1, rest]);
  return tf.concat(new Array<tf.Tensor>(times).fill(grouped), 1).reshape([outer, heads * times, rest]);
}

export class Llama extends ModelBase implements CausalLM {
  readonly config: LlamaConfig;
  private readonly rotary: { cos: tf.Tensor2D; sin: tf.Tensor2D };

  constructor(config: LlamaConfig, opts: ModelOptions = {}) {
    super(opts);
    this.config = llamaConfig(config);
    const { vocabSize: V, nLayer: L, nEmbd: C, nHead: H, nKvHead: Hkv, hiddenSize: F } = this.config;
    const kv = (C / H) * Hkv;
    const std = 0.02;
    const projStd = 0.02 / Math.sqrt(2 * L); // residual projections scaled by depth, as in gpt.ts
    this.normal('wte', [V, C], std);
    for (let i = 0; i < L; i++) {
      const p = `h.${i}.`;
      this.constant(p + 'attn_norm.g', [C], 1);
      this.normal(p + 'attn.q.w', [C, C], std);
      this.normal(p + 'attn.k.w', [C, kv], std);
      this.normal(p + 'attn.v.w', [C, kv], std);
      if (this.config.attentionBias) {
        this.constant(p + 'attn.q.b', [C], 0);
        this.constant(p + 'attn.k.b', [kv], 0);
        this.constant(p + 'attn.v.b', [kv], 0);
      }
      this.normal(p + 'attn.o.w', [C, C], projStd);
      this.constant(p + 'mlp_norm.g', [C], 1);
      this.normal(p + 'mlp.gate.w', [C, F], std);
      this.normal(p + 'mlp.up.w', [C, F], std);
      this.normal(p + 'mlp.down.w', [F, C], projStd);
    }
    this.constant('norm_f.g', [C], 1);
    if (!this.config.tiedEmbeddings) this.normal('lm_head.w', [C, V], std);
    this.rotary = rotaryTables(this.config);
    this.built();
  }

  readonly loraModules = Object.keys(PROJECTIONS).map((t) => `${t}_proj`);

  /** The projections named in `lora.targets` (default q and v), in every layer. */
  protected loraTargets(lora: LoraConfig): { weights: string[]; config: LoraConfig } {
    const targets = (lora.targets ?? DEFAULT_LORA_TARGETS).map((t) => t.replace(/_proj$/, ''));
    const unknown = targets.filter((t) => !(t in PROJECTIONS));
    if (unknown.length || targets.length === 0) throw new Error(`LoRA targets must be some of ${Object.keys(PROJECTIONS).join(', ')}, got ${targets.join(', ') || 'none'}`);
    const weights = Array.from({ length: this.config.nLayer }, (_, i) => targets.map((t) => `h.${i}.${PROJECTIONS[t]}`)).flat();
    return { weights, config: { ...lora, targets: [...targets] } };
  }

  forward(idx: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const { nLayer, nEmbd: C, blockSize, vocabSize: V, normEps: eps } = this.config;
    const [B, T] = idx.shape;
    const past = opts.cache?.length ?? 0;
    if (past + T > blockSize) throw new Error(`sequence of ${past + T} tokens exceeds the context of ${blockSize}`);
    const rate = opts.training ? (this.config.dropout ?? 0) : 0;
    let dropSite = 0;
    const dropout = (x: tf.Tensor2D): tf.Tensor2D => (rate > 0 ? (tf.dropout(x, rate, undefined, (opts.seed ?? 0) * 7919 + dropSite++) as tf.Tensor2D) : x);
    const p = this.params;
    const cos = tf.slice(this.rotary.cos, [past, 0], [T, -1]);
    const sin = tf.slice(this.rotary.sin, [past, 0], [T, -1]);

    let x = dropout(this.embed('wte', idx.reshape([B * T]) as tf.Tensor1D));
    for (let i = 0; i < nLayer; i++) {
      const h = `h.${i}.`;
      x = x.add(dropout(this.attention(rmsNorm(x, p[h + 'attn_norm.g'], eps), i, B, T, cos, sin, opts.cache)));
      const m = rmsNorm(x, p[h + 'mlp_norm.g'], eps);
      const gate = this.linear(m, h + 'mlp.gate');
      x = x.add(dropout(this.linear(gate.mul(tf.sigmoid(gate)).mul(this.linear(m, h + 'mlp.up')), h + 'mlp.down')));
    }
    if (opts.cache) opts.cache.length = past + T;
    const hidden2d = rmsNorm(x, p['norm_f.g'], eps);
    const out: ForwardResult = { hidden: hidden2d.reshape([B, T, C]) as tf.Tensor3D };

    if (opts.head) {
      if (!this.hasHead) throw new Error('forward({ head: true }) needs attachHead() first');
      out.head = tf.matMul(hidden2d, p['head.w']).add(p['head.b']).reshape([B, T]) as tf.Tensor2D;
    }
    if (opts.logits === false) return out;
    const logits2d = this.lmHead(hidden2d, Boolean(opts.cache));
    out.logits = logits2d.reshape([B, T, V]) as tf.Tensor3D;
    if (opts.targets) {
      const logProbs = tokenLogProbs(logits2d, opts.targets.reshape([B * T]) as tf.Tensor1D);
      out.logProbs = logProbs.reshape([B, T]) as tf.Tensor2D;
      const mask = opts.mask ? opts.mask.reshape([B * T]).toFloat() : tf.onesLike(logProbs);
      out.loss = logProbs.mul(mask).sum().neg().div(mask.sum().maximum(1)) as tf.Scalar;
    }
    return out;
  }

  private wteT: { of: object; t: tf.Tensor2D } | null = null;

  /** h·W_head. Tied: h·wteᵀ, with wteᵀ kept between sampling calls (never differentiated there). */
  private lmHead(hidden: tf.Tensor2D, sampling: boolean): tf.Tensor2D {
    const p = this.params;
    if (!this.config.tiedEmbeddings) return this.product(hidden, 'lm_head.w');
    if (!sampling || this.frozen.wte) return this.product(hidden, 'wte', true);
    if (this.wteT?.of !== p.wte.dataId) {
      this.wteT?.t.dispose();
      this.wteT = { of: p.wte.dataId, t: tf.keep(p.wte.transpose() as tf.Tensor2D) };
    }
    return tf.matMul(hidden, this.wteT.t);
  }

  /** x·W (+ b), plus the LoRA branch (x·A)·B·alpha/rank when this projection has adapters. */
  private linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const p = this.params;
    let y: tf.Tensor2D = this.product(x, name + '.w');
    if (p[name + '.b']) y = y.add(p[name + '.b']);
    const a = p[name + '.lora_a'];
    if (a && this.lora) y = y.add(tf.matMul(tf.matMul(x, a), p[name + '.lora_b']).mul(this.lora.alpha / this.lora.rank));
    return y;
  }

  private attention(x: tf.Tensor2D, layer: number, B: number, T: number, cos: tf.Tensor2D, sin: tf.Tensor2D, cache: KVCache | undefined): tf.Tensor2D {
    const { nHead: H, nKvHead: Hkv, nEmbd: C } = this.config;
    const hs = C / H;
    const rep = H / Hkv;
    const a = `h.${layer}.attn.`;
    const q = applyRotary(this.linear(x, a + 'q').reshape([B, T, H, hs]), cos, sin);
    let k = applyRotary(this.linear(x, a + 'k').reshape([B, T, Hkv, hs]), cos, sin);
    let v: tf.Tensor4D = this.linear(x, a + 'v').reshape([B, T, Hkv, hs]);
    // Training and scoring (no cache) on the native kernels: GPT's fused causal attention over
    // q | k | v with the key/value heads repeated to nHead.
    if (!cache && nativeActive()) {
      const qkv = tf.concat([q.reshape([B * T, C]), repeatKv(k, B * T, Hkv, hs, rep).reshape([B * T, C]), repeatKv(v, B * T, Hkv, hs, rep).reshape([B * T, C])], 1);
      return this.linear(fusedAttention(qkv as tf.Tensor2D, B, T, H, 0, 0), a + 'o');
    }
    const qh = q.transpose([0, 2, 1, 3]); // [B, H, T, hs]
    k = k.transpose([0, 2, 1, 3]); // [B, Hkv, T, hs]
    v = v.transpose([0, 2, 1, 3]);
    const past = cache?.length ?? 0;
    if (cache) ({ k, v } = cache.append(layer, k, v));
    const S = past + T;
    const kr = repeatKv(k, B, Hkv, S * hs, rep).reshape([B, H, S, hs]);
    const vr = repeatKv(v, B, Hkv, S * hs, rep).reshape([B, H, S, hs]);
    let att = tf.matMul(qh.mul(1 / Math.sqrt(hs)), kr, false, true); // [B, H, T, S]
    if (T > 1) att = att.add(causalMask(T, past));
    const y = tf.matMul(tf.softmax(att), vr).transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
    return this.linear(y, a + 'o');
  }

  dispose(): void {
    this.wteT?.t.dispose();
    this.wteT = null;
    tf.dispose([this.rotary.cos, this.rotary.sin]);
    super.dispose();
  }
}
