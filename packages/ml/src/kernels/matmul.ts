// BatchMatMul for wasm. tfjs-backend-wasm sends a matmul to XNNPACK only when it is a single 2-D
// product without transpose flags; batched or transposed products fall to a naive loop 15–20× slower.
// That covers attention (Q·Kᵀ, P·V) and every matmul gradient (dX = dY·Wᵀ, dW = Xᵀ·dY).
// This kernel transposes operands explicitly (a tiled copy in TypeScript, faster here than the stock
// C++ Transpose) and runs one XNNPACK product per batch entry on zero-copy views of the heap, so
// every product takes the fast path.
// When the native kernels (packages/ml/native, OpenBLAS) are built, every product goes to cblas_sgemm
// instead, 3–4× faster than XNNPACK here, with transposes handled by cblas itself.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type WasmBackend } from './heap.ts';
import { native, type NativeKernels } from './native.ts';

type Cfn = (...args: unknown[]) => void;
let wasmMatMul: Cfn;

/** Which matrix-product implementation the wasm backend uses, for backendInfo(). */
export function gemmInfo(): string {
  return native ? 'native kernels (OpenBLAS GEMM)' : 'XNNPACK GEMM';
}

function setup(backend: WasmBackend): void {
  // Same signature as the stock kernel's binding.
  wasmMatMul = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
}

const bytes = (a: number[]) => new Uint8Array(new Int32Array(a).buffer);

/** Registers a heap range under a fresh tensor id (a zero-copy view); forget it with release(). */
function view(backend: WasmBackend, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

/** Forgets a view; the C++ side also drops the XNNPACK operator it cached for that id. */
function release(backend: WasmBackend, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** [batch, r, c] → [batch, c, r] as a new float32 tensor. */
function transposeLast2(backend: WasmBackend, x: TensorInfo, batch: number, r: number, c: number): TensorInfo {
  const out = backend.makeOutput([batch, c, r], 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  for (let b = 0; b < batch; b++) transposeTiled(src, dst, b * r * c, r, c);
  return out;
}

const TILE = 32;

/** Cache-friendly transpose of one r×c matrix at `base`: 32×32 tiles, four source rows at a time. */
function transposeTiled(src: Float32Array, dst: Float32Array, base: number, r: number, c: number): void {
  for (let i0 = 0; i0 < r; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, r);
    for (let j0 = 0; j0 < c; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, c);
      let i = i0;
      for (; i + 4 <= i1; i += 4) {
        const s0 = base + i * c;
        const s1 = s0 + c;
        const s2 = s1 + c;
        const s3 = s2 + c;
        for (let j = j0; j < j1; j++) {
          const d = base + j * r + i;
          dst[d] = src[s0 + j];
          dst[d + 1] = src[s1 + j];
          dst[d + 2] = src[s2 + j];
          dst[d + 3] = src[s3 + j];
        }
      }
      for (; i < i1; i++) for (let j = j0; j < j1; j++) dst[base + j * r + i] = src[base + i * c + j];
    }
  }
}

function batchMatMul(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend; attrs: { transposeA: boolean; transposeB: boolean } }): TensorInfo {
  const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new Error('BatchMatMul: float32 only');
  const ar = a.shape.length;
  const br = b.shape.length;
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const [a0, a1] = [a.shape[ar - 2], a.shape[ar - 1]];
  const [b0, b1] = [b.shape[br - 2], b.shape[br - 1]];
  const [m, k] = transposeA ? [a1, a0] : [a0, a1];
  const [kb, n] = transposeB ? [b1, b0] : [b0, b1];
  if (k !== kb) throw new Error(`matMul: inner shapes ${k} and ${kb} of [${a.shape}] and [${b.shape}] must match`);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) throw new Error(`matMul: batch dims of [${a.shape}] and [${b.shape}] do not broadcast`);
  const batch = Math.max(batchA, batchB);
  const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (native) return nativeBatchMatMul(native, backend, a, b, [...outBatchShape, m, n], batchA, batchB, m, n, k, transposeA, transposeB);

  const tmp: TensorInfo[] = [];
  const A = transposeA ? transposeLast2(backend, a, batchA, a0, a1) : a;
  const B = transposeB ? transposeLast2(backend, b, batchB, b0, b1) : b;
  if (A !== a) tmp.push(A);
  if (B !== b) tmp.push(B);
  const out = backend.makeOutput([...outBatchShape, m, n], 'float32');
  const aOff = backend.dataIdMap.get(A.dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(B.dataId).memoryOffset;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = bytes([1, batchB === 1 ? batchA * m : m, k]);
  const bShape = bytes([1, k, n]);
  if (batchB === 1) {
    // One weight matrix for every batch entry: a single [batch·m, k] × [k, n] product.
    wasmMatMul(backend.dataIdMap.get(A.dataId).id, aShape, 3, backend.dataIdMap.get(B.dataId).id, bShape, 3, 0, 0, backend.dataIdMap.get(out.dataId).id);
  } else {
    for (let i = 0; i < batch; i++) {
      const av = view(backend, aOff + 4 * (batchA === 1 ? 0 : i) * m * k, m * k);
      const bv = view(backend, bOff + 4 * i * k * n, k * n);
      const ov = view(backend, oOff + 4 * i * m * n, m * n);
      wasmMatMul(av, aShape, 3, bv, bShape, 3, 0, 0, ov);
      release(backend, av);
      release(backend, bv);
      release(backend, ov);
    }
  }
  for (const t of tmp) backend.disposeData(t.dataId);
  return out;
}

/** One sgemm per batch entry on heap views; a batch-1 operand's view is reused for every entry. */
function nativeBatchMatMul(
  gemm: NativeKernels, backend: WasmBackend, a: TensorInfo, b: TensorInfo, outShape: number[],
  batchA: number, batchB: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
): TensorInfo {
  // Allocate first: growing the heap replaces its buffer, so views are taken afterwards.
  const out = backend.makeOutput(outShape, 'float32');
  const A = backend.typedArrayFromHeap(a) as Float32Array;
  const B = backend.typedArrayFromHeap(b) as Float32Array;
  const C = backend.typedArrayFromHeap(out) as Float32Array;
  const batch = Math.max(batchA, batchB);
  if (batchB === 1 && !transA) {
    // Shared right operand, row-major left operands: one [batch·m, k] × [k, n] product.
    gemm.sgemm(A, B, C, batch * m, n, k, false, transB);
    return out;
  }
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? A : A.subarray(i * m * k, (i + 1) * m * k);
    const bi = batchB === 1 ? B : B.subarray(i * k * n, (i + 1) * k * n);
    gemm.sgemm(ai, bi, C.subarray(i * m * n, (i + 1) * m * n), m, n, k, transA, transB);
  }
  return out;
}

export function registerBatchMatMul(): void {
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel({
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    setupFunc: setup as unknown as KernelConfig['setupFunc'],
    kernelFunc: batchMatMul as unknown as KernelFunc,
  } as KernelConfig);
}
