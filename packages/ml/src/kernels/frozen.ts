// Frozen weights outside the WebAssembly heap. tfjs-backend-wasm keeps every tensor in one wasm32
// heap that stops at 4 GB, while a weight nothing trains (every weight when sampling, the base under
// LoRA, a reference or reward model) only has to be read. Such a weight is a FrozenWeight: a plain
// Float32Array in the Node process's own memory, bounded by RAM. The kernels below take it as an
// attribute, not an input tensor, and hand it to the native addon (./native.ts), whose OpenBLAS
// products and row gather read any Float32Array, inside the heap or out of it:
//   frozenMatMul(x, w)         x·W, or x·Wᵀ (the tied LM head over the embedding); the gradient
//                              reaches x only (dx = dy·Wᵀ), never W
//   frozenGather(w, ids)       rows of W (the embedding lookup); no gradient
// Stored as float32, not F16/BF16: the products then match the heap path bit for bit, need no
// conversion per call, and RAM (24 GB here) still holds ~5B parameters.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type WasmBackend } from './heap.ts';
import { native, nativeActive } from './native.ts';

/** A 2-D float32 weight [rows, cols] held outside the wasm heap; never written once made. */
export class FrozenWeight {
  constructor(
    readonly data: Float32Array,
    readonly shape: [number, number],
  ) {
    if (data.length !== shape[0] * shape[1]) throw new Error(`a frozen weight [${shape.join(', ')}] needs ${shape[0] * shape[1]} values, got ${data.length}`);
  }

  get size(): number {
    return this.data.length;
  }
}

interface Attrs {
  w: FrozenWeight;
  /** The product is x·Wᵀ (W [out, in]). */
  transposeW: boolean;
}

const f32 = (be: WasmBackend, t: TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;

function nat() {
  if (!native) throw new Error('frozen weights need the native kernels');
  return native;
}

// Outputs are allocated before views of the heap are taken (an allocation may grow the heap).
const KERNELS: Record<string, (be: WasmBackend, x: Record<string, TensorInfo>, a: Attrs) => TensorInfo> = {
  JlFrozenMatMul(be, { x }, { w, transposeW }) {
    const [N, K] = x.shape;
    const M = transposeW ? w.shape[0] : w.shape[1];
    const y = be.makeOutput([N, M], 'float32');
    nat().sgemm(f32(be, x), w.data, f32(be, y), N, M, K, false, transposeW);
    return y;
  },
  JlFrozenMatMulGradX(be, { dy }, { w, transposeW }) {
    const [N, M] = dy.shape;
    const K = transposeW ? w.shape[1] : w.shape[0];
    const dx = be.makeOutput([N, K], 'float32');
    nat().sgemm(f32(be, dy), w.data, f32(be, dx), N, K, M, false, !transposeW);
    return dx;
  },
  JlFrozenGather(be, { ids }, { w }) {
    const n = sizeOf(ids.shape);
    const [rows, width] = w.shape;
    const out = be.makeOutput([...ids.shape, width], 'float32');
    if (n > 0) nat().gatherRows(w.data, be.typedArrayFromHeap(ids) as Int32Array, f32(be, out), rows, width, n);
    return out;
  },
};

export function registerFrozenKernels(): void {
  if (!native) return;
  for (const [kernelName, impl] of Object.entries(KERNELS)) {
    const kernelFunc = ({ inputs, backend, attrs }: { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Attrs }) => impl(backend, inputs, attrs);
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc } as KernelConfig);
  }
}

// The weight rides in the attributes, which tfjs passes through untouched.
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Attrs) =>
  tf.engine().runKernel(name, inputs as NamedTensorMap, attrs as unknown as NamedAttrMap) as tf.Tensor;

/** x·W for x [N, K], W [K, M] (or x·Wᵀ for W [M, K] with `transposeW`); differentiable in x only.
 * On another backend (a model frozen on wasm, then run on cpu) W is copied in for the call. */
export function frozenMatMul(x: tf.Tensor2D, w: FrozenWeight, transposeW = false): tf.Tensor2D {
  if (!nativeActive()) return tf.tidy(() => tf.matMul(x, tf.tensor2d(w.data, w.shape), false, transposeW));
  const attrs = { w, transposeW };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: run('JlFrozenMatMul', { x: args[0] as tf.Tensor }, attrs),
    gradFunc: (dy: tf.Tensor) => run('JlFrozenMatMulGradX', { dy }, attrs),
  }));
  return f(x) as tf.Tensor2D;
}

/** Rows ids (int32, any shape) of W [rows, width]: [...ids.shape, width]. */
export function frozenGather(w: FrozenWeight, ids: tf.Tensor): tf.Tensor {
  if (!nativeActive()) return tf.tidy(() => tf.gather(tf.tensor2d(w.data, w.shape), ids.toInt()));
  return run('JlFrozenGather', { ids: ids.toInt() }, { w, transposeW: false });
}
