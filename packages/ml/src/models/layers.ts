// What every model family shares: the forward options and results, the KV cache, LoRA settings,
// the masked causal attention pieces and the token log-probabilities of the loss.
import * as tf from '@tensorflow/tfjs';
import type { FrozenWeight } from '../kernels/frozen.ts';
import { fusedTokenLogProbs } from '../kernels/fused.ts';
import { nativeActive } from '../kernels/native.ts';

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Which modules get adapters, by PEFT's target_modules names (llama: q_proj k_proj v_proj o_proj
   * gate_proj up_proj down_proj, default q and v; GPT: c_attn c_proj c_fc, default all). Llama also
   * takes, and records, the short names q k v o gate up down. */
  targets?: string[];
  /** Parameters trained in full beside the adapters, as PEFT's modules_to_save: the embedding
   * (and untied LM head) after withChatTokens added rows that must learn. */
  fullyTrained?: string[];
}

export interface ForwardOptions {
  /** Next-token ids [B, T]; gives logProbs and loss. */
  targets?: tf.Tensor2D;
  /** 1 where a position counts in the loss (e.g. answer tokens in SFT), 0 elsewhere; [B, T]. */
  mask?: tf.Tensor2D;
  /** Turns dropout on. */
  training?: boolean;
  /** Dropout seed; trainers pass one per step so runs repeat exactly. */
  seed?: number;
  /** Continues from cached keys/values: idx holds only the new positions. */
  cache?: KVCache;
  /** Also return the scalar head's output (needs attachHead()). */
  head?: boolean;
  /** Skip the vocabulary projection when only hidden states or the head are needed. */
  logits?: boolean;
}

export interface ForwardResult {
  logits?: tf.Tensor3D;
  logProbs?: tf.Tensor2D;
  loss?: tf.Scalar;
  hidden: tf.Tensor3D;
  head?: tf.Tensor2D;
}

/** Keys and values of past positions, one pair per layer, each [B, heads, length, headSize] (key/value heads for grouped-query attention). */
export class KVCache {
  layers: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  length = 0;

  /** Stores a layer's new keys/values, keeping them past the caller's tf.tidy. */
  set(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): void {
    const old = this.layers[layer];
    this.layers[layer] = { k: tf.keep(k), v: tf.keep(v) };
    if (old) tf.dispose([old.k, old.v]);
  }

  /** Appends a layer's new keys/values [B, heads, T, hs] to the cached ones; returns all of them. */
  append(layer: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const prev = this.layers[layer];
    if (prev) {
      k = tf.concat([prev.k, k], 2);
      v = tf.concat([prev.v, v], 2);
    }
    this.set(layer, k, v);
    return { k, v };
  }

  /** Repeats every entry `times` along the batch, e.g. to sample K answers from one prompt. */
  repeat(times: number): void {
    this.layers.forEach(({ k, v }, i) => this.set(i, tf.tile(k, [times, 1, 1, 1]), tf.tile(v, [times, 1, 1, 1])));
  }

  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
    this.layers = [];
    this.length = 0;
  }
}

/**
 * log p(target) per row of logits [N, V]; differentiable. Written with softmax and a hand-made
 * gradient (softmax − one-hot, scaled): the composite logSumExp costs an exp pass and a max
 * gradient that are slow on wasm.
 */
export function tokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  if (nativeActive()) return fusedTokenLogProbs(logits, targets.toInt());
  const [N, V] = logits.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [logits, targets, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const probs = tf.softmax(logits);
    save([probs, targets]);
    const flatIdx = tf.range(0, N * V, V, 'int32').add(targets);
    // Floor at the smallest normal float32 so an underflowed probability gives a finite log.
    const value = tf.log(tf.gather(probs.reshape([N * V]), flatIdx).maximum(1.2e-38));
    return {
      value,
      gradFunc: (dy: tf.Tensor, [probs, targets]: tf.Tensor[]) => {
        const g = dy.reshape([N, 1]);
        return [tf.oneHot(targets, V).mul(g).sub(probs.mul(g)), tf.zerosLike(targets)];
      },
    };
  });
  return f(logits, targets.toInt()) as tf.Tensor1D;
}

const masks = new Map<string, tf.Tensor2D>();

/** [T, past+T] additive mask: 0 where query i may see key j (j ≤ past+i), −1e9 elsewhere. */
export function causalMask(T: number, past: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${T}:${past}`;
  let m = masks.get(key);
  if (!m) {
    const S = past + T;
    const vals = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) vals[i * S + j] = -1e9;
    m = tf.keep(tf.tensor2d(vals, [T, S]));
    masks.set(key, m);
  }
  return m;
}


/** Value of lossFn and its gradients with respect to the named variables, keyed by those names.
 * Variables the loss does not reach (an untied LM head under a head-only loss) get no entry, so
 * the optimizer leaves them exactly as they are. */
export function namedGradients(params: Record<string, tf.Variable>, names: string[], lossFn: () => tf.Scalar): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const { value, grads } = tf.variableGrads(lossFn, names.map((n) => params[n]));
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) if (grads[params[n].name]) byName[n] = grads[params[n].name];
  return { loss: value, grads: byName };
}

/** How a model is built: the seed of its random initialisation, or tensors to start from. */
export interface ModelOptions {
  seed?: number;
  /** Parameters by name to start from instead of random ones: shared, not copied (tfjs tensors are
   * immutable, so training the model replaces them without touching the owner's). Copies of a model
   * then cost no heap until they train. */
  weights?: Record<string, tf.Tensor | FrozenWeight>;
  /** Parameter values by name as plain arrays (checkpoints and imports read these); the model
   * copies them into the heap, or with `freeze` holds its 2-D weights outside it. */
  values?: Record<string, Float32Array>;
  /** Keep the 2-D weights of `values` outside the wasm heap as FrozenWeights, never trained (on the
   * native kernels; elsewhere they become variables as usual): for sampling, and for LoRA's base. */
  freeze?: boolean;
}

/** A variable on the given tensor for `name`, or undefined when none is given; refuses another shape. */
export function givenVariable(weights: Record<string, tf.Tensor> | undefined, name: string, shape: number[]): tf.Variable | undefined {
  const t = weights?.[name];
  if (!t) return undefined;
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new Error(`${name}: given [${t.shape.join(', ')}], the model needs [${shape.join(', ')}]`);
  return tf.variable(t, true);
}
