// Sum for wasm when it reduces the leading axes (bias and LayerNorm gradients: sum over all rows).
// The stock kernel transposes the input so the reduced axes come last, then sums: 20× slower than
// one pass down the rows. Other reductions go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type WasmBackend } from './heap.ts';

export function registerSum(): void {
  const stock = tf.getKernel(tf.Sum, 'wasm');
  if (!stock) throw new Error('wasm Sum kernel not found');

  const sum = (args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } }): TensorInfo => {
    const { inputs: { x }, backend, attrs } = args;
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i) && axes.length < x.shape.length;
    if (!leading || x.dtype !== 'float32') return (stock.kernelFunc as unknown as (a: typeof args) => TensorInfo)(args);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const cols = sizeOf(x.shape.slice(axes.length));
    const outShape = attrs.keepDims ? [...axes.map(() => 1), ...x.shape.slice(axes.length)] : x.shape.slice(axes.length);
    const out = backend.makeOutput(outShape, 'float32');
    sumRows(backend.typedArrayFromHeap(x) as Float32Array, rows, cols, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  };

  tf.unregisterKernel(tf.Sum, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: sum as unknown as KernelFunc } as KernelConfig);
}

/** out[c] = Σ_r src[r·cols + c], four rows per pass (fewer accumulator loads and stores). */
function sumRows(src: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols); // float64 accumulation: thousands of rows
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    for (let c = 0; c < cols; c++) acc[c] += src[o0 + c] + src[o1 + c] + (src[o2 + c] + src[o3 + c]);
  }
  for (; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) acc[c] += src[o + c];
  }
  out.set(acc);
}
