// Fused training ops on the native kernels (./native.ts): each registers a forward and a backward wasm
// kernel and is differentiable through tf.customGrad. models/gpt.ts, models/llama.ts (attention) and
// optim.ts take these paths when nativeActive(), and their composite tfjs versions (the same math, op
// by op) everywhere else; the tests check the two against each other on forward values and gradients.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type WasmBackend } from './heap.ts';
import { native as maybeNative } from './native.ts';

type Inputs = Record<string, TensorInfo>;
type Attrs = Record<string, number>;

const f32 = (be: WasmBackend, t: TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;
const i32 = (be: WasmBackend, t: TensorInfo) => be.typedArrayFromHeap(t) as Int32Array;

// Every kernel allocates its outputs before it takes views of the heap: an allocation may grow the
// heap, which detaches views taken earlier.
const KERNELS: Record<string, (be: WasmBackend, x: Inputs, a: Attrs) => TensorInfo[]> = {
  JlLinear(be, { x, w, b }) {
    const [[N, K], M] = [x.shape, w.shape[1]];
    const y = be.makeOutput([N, M], 'float32');
    nat().linearForward(f32(be, x), f32(be, w), f32(be, b), f32(be, y), N, K, M);
    return [y];
  },
  JlLinearGrad(be, { dy, x, w }) {
    const [[N, K], M] = [x.shape, w.shape[1]];
    const [dx, dw, db] = [be.makeOutput([N, K], 'float32'), be.makeOutput([K, M], 'float32'), be.makeOutput([M], 'float32')];
    nat().linearBackward(f32(be, dy), f32(be, x), f32(be, w), f32(be, dx), f32(be, dw), f32(be, db), N, K, M);
    return [dx, dw, db];
  },
  JlLayerNorm(be, { x, g, b }, { eps }) {
    const [N, C] = x.shape;
    const [y, mean, rstd] = [be.makeOutput([N, C], 'float32'), be.makeOutput([N], 'float32'), be.makeOutput([N], 'float32')];
    nat().layerNormForward(f32(be, x), f32(be, g), f32(be, b), f32(be, y), f32(be, mean), f32(be, rstd), N, C, eps);
    return [y, mean, rstd];
  },
  JlLayerNormGrad(be, { dy, x, mean, rstd, g }) {
    const [N, C] = x.shape;
    const [dx, dg, db] = [be.makeOutput([N, C], 'float32'), be.makeOutput([C], 'float32'), be.makeOutput([C], 'float32')];
    nat().layerNormBackward(f32(be, dy), f32(be, x), f32(be, mean), f32(be, rstd), f32(be, g), f32(be, dx), f32(be, dg), f32(be, db), N, C);
    return [dx, dg, db];
  },
  JlGelu(be, { x }) {
    const y = be.makeOutput(x.shape, 'float32');
    nat().geluForward(f32(be, x), f32(be, y), sizeOf(x.shape));
    return [y];
  },
  JlGeluGrad(be, { dy, x }) {
    const dx = be.makeOutput(x.shape, 'float32');
    nat().geluBackward(f32(be, dy), f32(be, x), f32(be, dx), sizeOf(x.shape));
    return [dx];
  },
  JlAttention(be, { qkv }, { B, T, H, dropout, seed }) {
    const C = qkv.shape[1] / 3;
    const [y, probs] = [be.makeOutput([B * T, C], 'float32'), be.makeOutput([B, H, T, T], 'float32')];
    nat().attentionForward(f32(be, qkv), f32(be, y), f32(be, probs), B, T, H, C, dropout, seed);
    return [y, probs];
  },
  JlAttentionGrad(be, { dy, qkv, probs }, { B, T, H, dropout, seed }) {
    const dqkv = be.makeOutput(qkv.shape, 'float32');
    nat().attentionBackward(f32(be, dy), f32(be, qkv), f32(be, probs), f32(be, dqkv), B, T, H, qkv.shape[1] / 3, dropout, seed);
    return [dqkv];
  },
  JlCrossEntropy(be, { logits, targets }) {
    const [N, V] = logits.shape;
    const [logp, lse] = [be.makeOutput([N], 'float32'), be.makeOutput([N], 'float32')];
    nat().crossEntropyForward(f32(be, logits), i32(be, targets), f32(be, logp), f32(be, lse), N, V);
    return [logp, lse];
  },
  JlCrossEntropyGrad(be, { dlogp, logits, targets, lse }) {
    const [N, V] = logits.shape;
    const dlogits = be.makeOutput([N, V], 'float32');
    nat().crossEntropyBackward(f32(be, dlogp), f32(be, logits), i32(be, targets), f32(be, lse), f32(be, dlogits), N, V);
    return [dlogits];
  },
  JlAdamW(be, { p, g, m, v }, { lr, beta1, beta2, eps, weightDecay, bc1, bc2, gradScale }) {
    const [po, mo, vo] = [be.makeOutput(p.shape, 'float32'), be.makeOutput(p.shape, 'float32'), be.makeOutput(p.shape, 'float32')];
    const n = sizeOf(p.shape);
    nat().adamw(f32(be, p), f32(be, g), f32(be, m), f32(be, v), f32(be, po), f32(be, mo), f32(be, vo), n, lr, beta1, beta2, eps, weightDecay, bc1, bc2, gradScale);
    return [po, mo, vo];
  },
};

function nat() {
  if (!maybeNative) throw new Error('native kernels are not loaded');
  return maybeNative;
}

export function registerFusedKernels(): void {
  if (!maybeNative) return;
  for (const [kernelName, impl] of Object.entries(KERNELS)) {
    const kernelFunc = ({ inputs, backend, attrs }: { inputs: Inputs; backend: WasmBackend; attrs: Attrs }) => impl(backend, inputs, attrs);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc } as KernelConfig);
  }
}

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Attrs = {}) =>
  tf.engine().runKernel(name, inputs as NamedTensorMap, attrs as unknown as NamedAttrMap) as tf.Tensor[];

type Fn = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] };

/** x·W + b for x [N, K], W [K, M]: the bias seeds the product, and one backward call gives dx, dW and db. */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const f: Fn = (x, w, b, save) => {
    (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor]);
    return { value: run('JlLinear', { x: x as tf.Tensor, w: w as tf.Tensor, b: b as tf.Tensor })[0], gradFunc: (dy, [x, w]) => run('JlLinearGrad', { dy, x, w }) };
  };
  return tf.customGrad(f)(x, w, b) as tf.Tensor2D;
}

/** LayerNorm over the last axis of [N, C] (eps 1e-5); keeps the input, the means and 1/σ for backward. */
export function fusedLayerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const f: Fn = (x, g, b, save) => {
    const [y, mean, rstd] = run('JlLayerNorm', { x: x as tf.Tensor, g: g as tf.Tensor, b: b as tf.Tensor }, { eps: 1e-5 });
    (save as tf.GradSaveFunc)([x as tf.Tensor, mean, rstd, g as tf.Tensor]);
    return { value: y, gradFunc: (dy, [x, mean, rstd, g]) => run('JlLayerNormGrad', { dy, x, mean, rstd, g }) };
  };
  return tf.customGrad(f)(x, g, b) as tf.Tensor2D;
}

/** GELU (tanh form); the backward pass recomputes σ from the input rather than keeping it. */
export function fusedGelu(x: tf.Tensor2D): tf.Tensor2D {
  const f: Fn = (x, save) => {
    (save as tf.GradSaveFunc)([x as tf.Tensor]);
    return { value: run('JlGelu', { x: x as tf.Tensor })[0], gradFunc: (dy, [x]) => run('JlGeluGrad', { dy, x })[0] };
  };
  return tf.customGrad(f)(x) as tf.Tensor2D;
}

/**
 * Causal multi-head self-attention from the q|k|v projection [B·T, 3C] to the merged heads [B·T, C]:
 * softmax(q·kᵀ/√hs + causal mask), dropout on the probabilities, times v. Keeps the probabilities
 * [B, H, T, T] for backward; the dropout mask is regenerated from `seed`.
 */
export function fusedAttention(qkv: tf.Tensor2D, B: number, T: number, H: number, dropout: number, seed: number): tf.Tensor2D {
  const attrs = { B, T, H, dropout, seed };
  const f: Fn = (qkv, save) => {
    const [y, probs] = run('JlAttention', { qkv: qkv as tf.Tensor }, attrs);
    (save as tf.GradSaveFunc)([qkv as tf.Tensor, probs]);
    return { value: y, gradFunc: (dy, [qkv, probs]) => run('JlAttentionGrad', { dy, qkv, probs }, attrs)[0] };
  };
  return tf.customGrad(f)(qkv) as tf.Tensor2D;
}

/** log p(target) per row of logits [N, V], through log-sum-exp; targets int32 [N] get no gradient. */
export function fusedTokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const f: Fn = (logits, targets, save) => {
    const [logp, lse] = run('JlCrossEntropy', { logits: logits as tf.Tensor, targets: targets as tf.Tensor });
    (save as tf.GradSaveFunc)([logits as tf.Tensor, targets as tf.Tensor, lse]);
    return {
      value: logp,
      gradFunc: (dlogp, [logits, targets, lse]) => [run('JlCrossEntropyGrad', { dlogp, logits, targets, lse })[0], tf.zerosLike(targets)],
    };
  };
  return tf.customGrad(f)(logits, targets) as tf.Tensor1D;
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Bias corrections 1 − β^t. */
  bc1: number;
  bc2: number;
  /** Multiplies the gradient first (global-norm clipping). */
  gradScale: number;
}

/** One AdamW update of a parameter in one pass: the new parameter and moments. */
export function fusedAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamWStep): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [p2, m2, v2] = run('JlAdamW', { p, g, m, v }, { ...step });
  return [p2, m2, v2];
}

/** Σ g² over all tensors, read in place from the wasm heap (no tensors made). */
export function sumOfSquares(tensors: tf.Tensor[]): number {
  const be = tf.backend() as unknown as WasmBackend;
  let total = 0;
  for (const t of tensors) total += nat().sumSquares(f32(be, t));
  return total;
}
