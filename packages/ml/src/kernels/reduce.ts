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
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const acc = new Float64Array(cols); // float64 accumulation: thousands of rows
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let c = 0; c < cols; c++) acc[c] += src[o + c];
    }
    const out = backend.makeOutput(outShape, 'float32');
    (backend.typedArrayFromHeap(out) as Float32Array).set(acc);
    return out;
  };

  tf.unregisterKernel(tf.Sum, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: sum as unknown as KernelFunc } as KernelConfig);
}
