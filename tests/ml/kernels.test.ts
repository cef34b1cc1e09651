// The wasm kernels we register (UnsortedSegmentSum, Slice/SplitV/Unpack, BatchMatMul) must agree with
// the reference cpu backend, forward and through their gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { onBackend, randomValues, read, relDiff } from './helpers.ts';

/** Value and gradients of sum(f(inputs) · w) for a fixed random w, on one backend. */
function valueAndGrads(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): number[][] {
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.tensor(randomValues(s.reduce((a, b) => a * b, 1), 7 + i), s));
    const y = f(...xs);
    const w = tf.tensor(randomValues(y.size, 99), y.shape);
    const grads = tf.grads((...a: tf.Tensor[]) => f(...a).mul(w).sum())(xs);
    return [read(y), ...grads.map(read)];
  });
}

async function sameOnWasmAndCpu(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, tol = 1e-5) {
  const wasm = await onBackend('wasm', () => valueAndGrads(shapes, f));
  const cpu = await onBackend('cpu', () => valueAndGrads(shapes, f));
  wasm.forEach((w, i) => assert.ok(relDiff(w, cpu[i]) < tol, `${i === 0 ? 'value' : `gradient ${i}`} differs: ${relDiff(w, cpu[i])}`));
}

test('embedding lookup (gather) has a gradient on wasm, equal to cpu (UnsortedSegmentSum)', async () => {
  const ids = [3, 1, 3, 0, 7, 3, 2, 9];
  await sameOnWasmAndCpu([[10, 4]], (table) => tf.gather(table, tf.tensor1d(ids, 'int32')));
});

test('slices, splits and unstacks match cpu, values and gradients', async () => {
  await sameOnWasmAndCpu([[4, 6, 5]], (x) => tf.slice(x, [1, 2, 0], [2, 3, 5]));
  await sameOnWasmAndCpu([[4, 6, 5]], (x) => tf.slice(x, [0, 1, 2], [4, 4, 2]));
  await sameOnWasmAndCpu([[6, 9]], (x) => {
    const [a, b, c] = tf.split(x, [2, 3, 4], 1);
    return tf.concat([c, a.mul(2), b], 1);
  });
  await sameOnWasmAndCpu([[3, 2, 4, 5]], (x) => {
    const [q, k, v] = tf.unstack(x);
    return q.mul(k).add(v);
  });
});

test('batched and transposed matmuls match cpu, values and gradients', async () => {
  await sameOnWasmAndCpu([[12, 8], [8, 5]], (a, b) => tf.matMul(a, b));
  await sameOnWasmAndCpu([[8, 12], [5, 8]], (a, b) => tf.matMul(a, b, true, true));
  await sameOnWasmAndCpu([[2, 3, 7, 4], [2, 3, 6, 4]], (q, k) => tf.matMul(q, k, false, true)); // attention scores
  await sameOnWasmAndCpu([[6, 7, 7], [6, 7, 4]], (p, v) => tf.matMul(p, v)); // attention output
});

test('Aᵀ·B with a large A, and sums over leading axes, match cpu', async () => {
  await sameOnWasmAndCpu([[70, 45], [70, 9]], (a, b) => tf.matMul(a, b, true, false));
  await sameOnWasmAndCpu([[3, 40, 33], [3, 20, 33]], (a, b) => tf.matMul(a, b, false, true));
  await sameOnWasmAndCpu([[6, 5, 4]], (x) => tf.sum(x, [0, 1]).mul(tf.sum(x, 0, true).sum()));
  await sameOnWasmAndCpu([[7, 9]], (x) => tf.sum(x, 0));
});
