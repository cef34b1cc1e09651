// The native kernels addon (packages/ml/native: OpenBLAS GEMM plus fused linear layer, LayerNorm,
// GELU, attention, cross-entropy, AdamW and the embedding lookup), loaded once per thread. Absent when it was not built (no gcc or OpenBLAS
// headers at install) or when JIELONG_NATIVE=0; the wasm kernels then do the work.
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';

type F32 = Float32Array;
type I32 = Int32Array;

export interface NativeKernels {
  sgemm(a: F32, b: F32, c: F32, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  setThreads(t: number): void;
  linearForward(x: F32, w: F32, b: F32, y: F32, N: number, K: number, M: number): void;
  linearBackward(dy: F32, x: F32, w: F32, dx: F32, dw: F32, db: F32, N: number, K: number, M: number): void;
  gatherRows(table: F32, ids: I32, out: F32, rows: number, width: number, n: number): void;
  layerNormForward(x: F32, g: F32, b: F32, y: F32, mean: F32, rstd: F32, N: number, C: number, eps: number): void;
  layerNormBackward(dy: F32, x: F32, mean: F32, rstd: F32, g: F32, dx: F32, dg: F32, db: F32, N: number, C: number): void;
  geluForward(x: F32, y: F32, n: number): void;
  geluBackward(dy: F32, x: F32, dx: F32, n: number): void;
  attentionForward(qkv: F32, y: F32, probs: F32, B: number, T: number, H: number, C: number, dropout: number, seed: number): void;
  attentionBackward(dy: F32, qkv: F32, probs: F32, dqkv: F32, B: number, T: number, H: number, C: number, dropout: number, seed: number): void;
  crossEntropyForward(logits: F32, targets: I32, logp: F32, lse: F32, N: number, V: number): void;
  crossEntropyBackward(dlogp: F32, logits: F32, targets: I32, lse: F32, dlogits: F32, N: number, V: number): void;
  adamw(p: F32, g: F32, m: F32, v: F32, pOut: F32, mOut: F32, vOut: F32, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, bc1: number, bc2: number, gradScale: number): void;
  sumSquares(x: F32): number;
}

export const native: NativeKernels | null = load();

function load(): NativeKernels | null {
  if (process.env.JIELONG_NATIVE === '0') return null;
  // One BLAS thread: parallelism comes from the pretrain worker threads, each with its own heap.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  try {
    const kernels = createRequire(import.meta.url)('../../native/build/kernels.node') as NativeKernels;
    kernels.setThreads(1);
    return kernels;
  } catch {
    return null;
  }
}

/** True when the active backend is wasm and the native kernels loaded: models then take the fused paths. */
export function nativeActive(): boolean {
  return native !== null && tf.getBackend() === 'wasm';
}
