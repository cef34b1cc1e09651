// Slice, SplitV and Unpack for wasm. The stock kernels copy the whole input out of the wasm heap for
// every slice (O(n · size) for a split into n parts); these copy only the sliced elements, in place.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, stridesOf, type WasmBackend } from './heap.ts';

type Typed = Float32Array | Int32Array | Uint8Array;

/** Copies x[begin : begin+size] (row-major) into out, one contiguous run at a time. */
function copySlice(src: Typed, shape: number[], begin: number[], size: number[], dst: Typed): void {
  const rank = shape.length;
  // The innermost dims that are taken whole merge into one contiguous run.
  let run = 1;
  let d = rank - 1;
  while (d >= 0 && begin[d] === 0 && size[d] === shape[d]) run *= shape[d--];
  if (d < 0) {
    dst.set(src.subarray(0, run));
    return;
  }
  run *= size[d];
  const strides = stridesOf(shape);
  const outer = size.slice(0, d);
  const count = sizeOf(outer);
  const idx = new Array<number>(d).fill(0);
  let o = 0;
  for (let n = 0; n < count; n++) {
    let off = begin[d] * strides[d];
    for (let i = 0; i < d; i++) off += (begin[i] + idx[i]) * strides[i];
    dst.set(src.subarray(off, off + run), o);
    o += run;
    for (let i = d - 1; i >= 0; i--) {
      if (++idx[i] < outer[i]) break;
      idx[i] = 0;
    }
  }
}

function sliceInfo(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (sizeOf(size) > 0) copySlice(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

function slice(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { begin: number | number[]; size: number | number[] } }): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  return sliceInfo(backend, x, begin, size);
}

function splitV(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { numOrSizeSplits: number | number[]; axis: number } }): TensorInfo[] {
  const { inputs: { x }, backend, attrs } = args;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = x.shape.slice();
    size[axis] = s;
    const part = sliceInfo(backend, x, begin, size);
    begin[axis] += s;
    return part;
  });
}

function unpack(args: { inputs: { value: TensorInfo }; backend: WasmBackend; attrs: { axis: number } }): TensorInfo[] {
  const { inputs: { value }, backend } = args;
  const axis = args.attrs.axis < 0 ? args.attrs.axis + value.shape.length : args.attrs.axis;
  const outShape = value.shape.filter((_, i) => i !== axis);
  const begin = new Array<number>(value.shape.length).fill(0);
  const size = value.shape.slice();
  size[axis] = 1;
  const outs: TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    const part = sliceInfo(backend, value, begin, size);
    outs.push({ dataId: part.dataId, dtype: part.dtype, shape: outShape });
  }
  return outs;
}

export function registerSliceKernels(): void {
  for (const [kernelName, kernelFunc] of [
    [tf.Slice, slice],
    [tf.SplitV, splitV],
    [tf.Unpack, unpack],
  ] as const) {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc } as KernelConfig);
  }
}
