// Identity for wasm without a copy. tfjs clones every tensor it saves for the backward pass with
// Identity, and the stock wasm kernel copies the data each time (~6% of a training step). Tensors
// are immutable, so the clone can share the data and only count one more reference, as the cpu
// backend does.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

interface RefCounting {
  incRef(dataId: object): void;
}

export function registerIdentity(): void {
  const stock = tf.getKernel(tf.Identity, 'wasm');
  if (!stock) throw new Error('wasm Identity kernel not found');
  const identity = (args: { inputs: { x: TensorInfo }; backend: RefCounting }): TensorInfo => {
    const { inputs: { x }, backend } = args;
    if (x.dtype === 'string') return (stock.kernelFunc as unknown as (a: typeof args) => TensorInfo)(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: identity as unknown as KernelFunc } as KernelConfig);
}
