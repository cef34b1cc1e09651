/**
 * GPT: a decoder-only transformer in TensorFlow.js, after nanoGPT (one readable file).
 *
 * Token + position embeddings → nLayer × [pre-LayerNorm causal self-attention, pre-LayerNorm GELU MLP]
 * → final LayerNorm → logits through the token embedding (weight tying). Dropout on embeddings,
 * attention probabilities and residual branches.
 *
 * API (all tensors int32 token ids [B, T] in, float32 out):
 *   const model = new GPT(gptConfig('tiny', { vocabSize: 512 }), { seed: 1 });
 *   const { logits, logProbs, loss, hidden, head } = model.forward(idx, { targets, mask, training });
 *     logits   [B, T, V]  next-token logits
 *     logProbs [B, T]     log p(targets[b,t]) — differentiable, for SFT/RLHF/DPO objectives
 *     loss     scalar     mean of −logProbs over positions where mask = 1 (all positions without a mask)
 *     hidden   [B, T, C]  final hidden states (after the last LayerNorm)
 *     head     [B, T]     scalar head output per position, when a head is attached and `head: true`
 *   model.params          every variable by stable name (checkpoints use these names)
 *   model.trainable()     the variables an optimizer should update: all of them, or with LoRA on only
 *                         the adapters (base weights frozen); plus the head when attached
 *   model.gradients(() => loss)  → { loss, grads } with grads keyed by parameter name
 *   model.addLora({ rank, alpha }) / model.mergeLora() / model.removeLora()
 *   model.attachHead()    adds the scalar value/reward head (zero-initialised)
 *   model.newCache()      a KV cache: forward(idx, { cache }) then costs one position per new token
 *   model.numParams(), model.dispose()
 * Call forward inside tf.tidy (trainers do); the only tensors that outlive it are the cache's.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAttention, fusedGelu, fusedLayerNorm, fusedLinear } from '../kernels/fused.ts';
import { nativeActive } from '../kernels/native.ts';
import { ModelBase } from './base.ts';
import type { CausalLM } from './index.ts';
import { causalMask, KVCache, tokenLogProbs, type ForwardOptions, type ForwardResult, type LoraConfig, type ModelOptions } from './layers.ts';

export interface GPTConfig {
  /** Absent in checkpoints saved before there were other families. */
  family?: 'gpt';
  vocabSize: number;
  /** Context length: the longest sequence the model sees. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
}

export type PresetName = 'tiny' | 'mini' | 'small';

/** Sizes without the vocabulary, which comes from the tokenizer. */
export const PRESETS: Record<PresetName, Omit<GPTConfig, 'vocabSize'>> = {
  /** For tests: trains in seconds. */
  tiny: { blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 },
  /** Benchmark config A: ~1M parameters with a 2k vocabulary. */
  mini: { blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 },
  /** nanoGPT's shakespeare-char size: ~10M parameters. */
  small: { blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.1 },
};

export function gptConfig(preset: PresetName, overrides: Partial<GPTConfig> & { vocabSize: number }): GPTConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset "${preset}" (expected ${Object.keys(PRESETS).join(', ')})`);
  const config = { ...base, ...overrides };
  if (config.nEmbd % config.nHead !== 0) throw new Error(`nEmbd (${config.nEmbd}) must be a multiple of nHead (${config.nHead})`);
  return config;
}

const LINEARS = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
/** PEFT's target_modules names for GPT-2 → our linears (c_proj names both projections, as in PEFT). */
const LORA_MODULES: Record<string, readonly string[]> = { c_attn: ['attn.c_attn'], c_proj: ['attn.c_proj', 'mlp.c_proj'], c_fc: ['mlp.c_fc'] };

export class GPT extends ModelBase implements CausalLM {
  readonly config: GPTConfig;

  constructor(config: GPTConfig, opts: ModelOptions = {}) {
    super(opts);
    this.config = { ...config, family: 'gpt' };
    const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C } = config;
    const std = 0.02;
    const projStd = 0.02 / Math.sqrt(2 * L); // GPT-2: residual projections scaled by depth
    this.normal('wte', [V, C], std);
    this.normal('wpe', [T, C], std);
    for (let i = 0; i < L; i++) {
      const p = `h.${i}.`;
      this.constant(p + 'ln_1.g', [C], 1);
      this.constant(p + 'ln_1.b', [C], 0);
      this.normal(p + 'attn.c_attn.w', [C, 3 * C], std);
      this.constant(p + 'attn.c_attn.b', [3 * C], 0);
      this.normal(p + 'attn.c_proj.w', [C, C], projStd);
      this.constant(p + 'attn.c_proj.b', [C], 0);
      this.constant(p + 'ln_2.g', [C], 1);
      this.constant(p + 'ln_2.b', [C], 0);
      this.normal(p + 'mlp.c_fc.w', [C, 4 * C], std);
      this.constant(p + 'mlp.c_fc.b', [4 * C], 0);
      this.normal(p + 'mlp.c_proj.w', [4 * C, C], projStd);
      this.constant(p + 'mlp.c_proj.b', [C], 0);
    }
    this.constant('ln_f.g', [C], 1);
    this.constant('ln_f.b', [C], 0);
    this.built();
  }

  readonly loraModules = Object.keys(LORA_MODULES);

  /** The linears of `lora.targets` (PEFT's names; default all of them) in every layer. */
  protected loraTargets(lora: LoraConfig): { weights: string[]; config: LoraConfig } {
    const targets = lora.targets ?? this.loraModules;
    const unknown = targets.filter((t) => !(t in LORA_MODULES));
    if (unknown.length || targets.length === 0) throw new Error(`LoRA targets must be some of ${this.loraModules.join(', ')}, got ${targets.join(', ') || 'none'}`);
    const linears = LINEARS.filter((lin) => targets.some((t) => LORA_MODULES[t].includes(lin)));
    const weights = Array.from({ length: this.config.nLayer }, (_, i) => linears.map((lin) => `h.${i}.${lin}`)).flat();
    return { weights, config: { ...lora } };
  }

  forward(idx: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const { nLayer, nEmbd: C, blockSize, vocabSize: V } = this.config;
    const [B, T] = idx.shape;
    const past = opts.cache?.length ?? 0;
    if (past + T > blockSize) throw new Error(`sequence of ${past + T} tokens exceeds the context of ${blockSize}`);
    const drop = opts.training && this.config.dropout > 0 ? this.config.dropout : 0;
    let dropSite = 0;
    const dropSeed = () => (opts.seed ?? 0) * 7919 + dropSite++;
    const dropout = <R extends tf.Tensor>(x: R): R => (drop > 0 ? (tf.dropout(x, drop, undefined, dropSeed()) as R) : x);
    const p = this.params;

    const tok = this.embed('wte', idx.reshape([B * T]) as tf.Tensor1D);
    const pos = this.frozen.wpe ? this.embed('wpe', tf.range(past, past + T, 1, 'int32') as tf.Tensor1D) : tf.slice(p.wpe, [past, 0], [T, C]);
    let x = dropout(tok.reshape([B, T, C]).add(pos)).reshape([B * T, C]) as tf.Tensor2D;

    for (let i = 0; i < nLayer; i++) {
      const h = `h.${i}.`;
      const attnDrop = { rate: drop, seed: drop > 0 ? dropSeed() : 0 };
      x = x.add(dropout(this.attention(layerNorm(x, p[h + 'ln_1.g'], p[h + 'ln_1.b']), i, B, T, opts.cache, attnDrop)));
      const m = gelu(this.linear(layerNorm(x, p[h + 'ln_2.g'], p[h + 'ln_2.b']), h + 'mlp.c_fc'));
      x = x.add(dropout(this.linear(m, h + 'mlp.c_proj')));
    }
    if (opts.cache) opts.cache.length = past + T;
    const hidden2d = layerNorm(x, p['ln_f.g'], p['ln_f.b']);
    const out: ForwardResult = { hidden: hidden2d.reshape([B, T, C]) as tf.Tensor3D };

    if (opts.head) {
      if (!this.hasHead) throw new Error('forward({ head: true }) needs attachHead() first');
      out.head = tf.matMul(hidden2d, p['head.w']).add(p['head.b']).reshape([B, T]) as tf.Tensor2D;
    }
    if (opts.logits === false) return out;
    // Weight tying: logits = h · wteᵀ. While sampling (never differentiated) wteᵀ is kept between
    // calls, since transposing it costs more than a one-token forward pass.
    const logits2d = opts.cache && !this.frozen.wte ? tf.matMul(hidden2d, this.wteTransposed()) : this.product(hidden2d, 'wte', true);
    out.logits = logits2d.reshape([B, T, V]) as tf.Tensor3D;
    if (opts.targets) {
      const logProbs = tokenLogProbs(logits2d as tf.Tensor2D, opts.targets.reshape([B * T]) as tf.Tensor1D);
      out.logProbs = logProbs.reshape([B, T]) as tf.Tensor2D;
      const mask = opts.mask ? opts.mask.reshape([B * T]).toFloat() : tf.onesLike(logProbs);
      out.loss = logProbs.mul(mask).sum().neg().div(mask.sum().maximum(1)) as tf.Scalar;
    }
    return out;
  }

  private wteT: { of: object; t: tf.Tensor2D } | null = null;

  private wteTransposed(): tf.Tensor2D {
    const wte = this.params.wte;
    if (this.wteT?.of !== wte.dataId) {
      this.wteT?.t.dispose();
      this.wteT = { of: wte.dataId, t: tf.keep(wte.transpose() as tf.Tensor2D) };
    }
    return this.wteT.t;
  }

  /** x·W + b, plus the LoRA branch (x·A)·B·alpha/rank when adapters are on. */
  private linear(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const p = this.params;
    const a = p[name + '.lora_a'];
    const frozen = name + '.w' in this.frozen;
    if (!frozen && (!a || !this.lora)) return nativeActive() ? fusedLinear(x, p[name + '.w'], p[name + '.b']) : (tf.matMul(x, p[name + '.w']).add(p[name + '.b']) as tf.Tensor2D);
    // With adapters the base weight is frozen: tfjs's own matMul gradient skips its dW, the fused one would not.
    const y = this.product(x, name + '.w').add(p[name + '.b']) as tf.Tensor2D;
    if (!a || !this.lora) return y;
    return y.add(tf.matMul(tf.matMul(x, a), p[name + '.lora_b']).mul(this.lora.alpha / this.lora.rank)) as tf.Tensor2D;
  }

  private attention(x: tf.Tensor2D, layer: number, B: number, T: number, cache: KVCache | undefined, drop: AttentionDropout): tf.Tensor2D {
    const { nHead: H, nEmbd: C } = this.config;
    const hs = C / H;
    const qkv = this.linear(x, `h.${layer}.attn.c_attn`);
    // Training and scoring (no cache) on the native kernels: the whole block below in one fused op.
    if (!cache && nativeActive()) return this.linear(fusedAttention(qkv, B, T, H, drop.rate, drop.seed), `h.${layer}.attn.c_proj`);
    // [B·T, 3C] → q, k, v as [B, H, T, hs]
    const [q, kNew, vNew] = tf.split(qkv, 3, 1).map((t) => t.reshape([B, T, H, hs]).transpose([0, 2, 1, 3])) as tf.Tensor4D[];
    let [k, v] = [kNew, vNew];
    const past = cache?.length ?? 0;
    if (cache) ({ k, v } = cache.append(layer, k, v));
    let att = tf.matMul(q.mul(1 / Math.sqrt(hs)), k, false, true); // [B, H, T, past+T]
    if (T > 1) att = att.add(causalMask(T, past));
    att = tf.softmax(att);
    if (drop.rate > 0) att = tf.dropout(att, drop.rate, undefined, drop.seed);
    const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
    return this.linear(y, `h.${layer}.attn.c_proj`);
  }

  dispose(): void {
    this.wteT?.t.dispose();
    this.wteT = null;
    super.dispose();
  }
}

/** Dropout on the attention probabilities: rate 0 turns it off. */
interface AttentionDropout {
  rate: number;
  seed: number;
}

/** LayerNorm over the last axis of [N, C], with a hand-written gradient (keeps only x̂ and 1/σ). */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D | tf.Variable, b: tf.Tensor1D | tf.Variable): tf.Tensor2D {
  if (nativeActive()) return fusedLayerNorm(x, g, b);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const mean = x.mean(-1, true);
    const xc = x.sub(mean);
    const rstd = tf.rsqrt(xc.square().mean(-1, true).add(1e-5));
    const xhat = xc.mul(rstd);
    save([xhat, rstd, g]);
    return {
      value: xhat.mul(g).add(b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xhat, rstd, g] = saved;
        const dxhat = dy.mul(g);
        const dx = dxhat.sub(dxhat.mean(-1, true)).sub(xhat.mul(dxhat.mul(xhat).mean(-1, true))).mul(rstd);
        return [dx, dy.mul(xhat).sum(0), dy.sum(0)];
      },
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}

const GELU_C = 2 * Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh form (GPT-2's): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·σ(2√(2/π)(x + 0.044715x³))
 * since σ is fast on wasm while tanh, erf and exp are not. Hand-written gradient: s + x·s(1−s)·u′.
 */
export function gelu(x: tf.Tensor2D): tf.Tensor2D {
  if (nativeActive()) return fusedGelu(x);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const x2 = x.square();
    const s = tf.sigmoid(x.mul(x2.mul(0.044715).add(1)).mul(GELU_C));
    save([x, x2, s]);
    return {
      value: x.mul(s),
      gradFunc: (dy: tf.Tensor, [x, x2, s]: tf.Tensor[]) => {
        const du = x2.mul(3 * 0.044715 * GELU_C).add(GELU_C); // u′(x)
        return dy.mul(s.add(x.mul(s).mul(tf.sub(1, s)).mul(du)));
      },
    };
  });
  return f(x) as tf.Tensor2D;
}
