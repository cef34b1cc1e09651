// GatherV2 for wasm on the native kernels, for the embedding lookup (rows of a float32 matrix): the
// stock kernel copies the indices out of the heap and walks every element through generic strides
// (18 ms for 2048 rows of 128). Other gathers go to the stock kernel.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type WasmBackend } from './heap.ts';
import { native } from './native.ts';

export function registerGather(): void {
  const stock = tf.getKernel(tf.GatherV2, 'wasm');
  if (!stock || !native) return;
  const kernels = native;
  const gather = (args: { inputs: { x: TensorInfo; indices: TensorInfo }; backend: WasmBackend; attrs: { axis: number; batchDims: number } }): TensorInfo => {
    const { inputs: { x, indices }, backend, attrs } = args;
    const rows = x.shape[0];
    const n = sizeOf(indices.shape);
    if (x.shape.length !== 2 || x.dtype !== 'float32' || indices.dtype !== 'int32' || attrs.axis !== 0 || attrs.batchDims || n === 0 || rows === 0) {
      return (stock.kernelFunc as unknown as (a: typeof args) => TensorInfo)(args);
    }
    const width = x.shape[1];
    const out = backend.makeOutput([...indices.shape, width], 'float32');
    kernels.gatherRows(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(indices) as Int32Array, backend.typedArrayFromHeap(out) as Float32Array, rows, width, n);
    return out;
  };
  tf.unregisterKernel(tf.GatherV2, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: gather as unknown as KernelFunc } as KernelConfig);
}
