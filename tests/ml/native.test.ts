// The native kernels (packages/ml/native, fused in C over OpenBLAS) compute what the composite tfjs ops
// compute on the cpu backend, forward and through their gradients; attention dropout repeats with its
// seed and has the gradient of what it computes; AdamW updates alike; bad indices fail cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, gelu, layerNorm, tokenLogProbs } from '../../packages/ml/src/index.ts';
import { fusedAttention, fusedLinear } from '../../packages/ml/src/kernels/fused.ts';
import { native, nativeActive } from '../../packages/ml/src/kernels/native.ts';
import { maxAbsDiff, onBackend, randomValues, read, relDiff } from './helpers.ts';

// CI installs gcc and OpenBLAS, so there the kernels must have been built; elsewhere they may be absent.
const skip = native ? false : process.env.CI ? false : 'native kernels off (JIELONG_NATIVE=0) or not built (no gcc or libopenblas-dev at install)';

const rand = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape).mul(scale);

/** Causal multi-head attention from q|k|v [B·T, 3C] to [B·T, C], op by op (the composite path's math). */
function referenceAttention(qkv: tf.Tensor2D, B: number, T: number, H: number): tf.Tensor2D {
  const C = qkv.shape[1] / 3;
  const hs = C / H;
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => t.reshape([B, T, H, hs]).transpose([0, 2, 1, 3]));
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0).sub(1).mul(1e9);
  const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)).add(mask));
  return tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D;
}

/** Value and gradients of sum(f(inputs) · w) for fixed random inputs and w. */
function valueAndGrads(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor): number[][] {
  return tf.tidy(() => {
    const xs = shapes.map((s, i) => rand(s, 3 + i));
    const y = f(...xs);
    const w = rand(y.shape, 77);
    return [read(y), ...tf.grads((...a: tf.Tensor[]) => f(...a).mul(w).sum())(xs).map(read)];
  });
}

async function nativeMatchesCpu(name: string, shapes: number[][], fused: (...xs: tf.Tensor[]) => tf.Tensor, composite: (...xs: tf.Tensor[]) => tf.Tensor) {
  const wasm = await onBackend('wasm', () => {
    assert.ok(nativeActive(), 'the wasm backend runs on the native kernels');
    return valueAndGrads(shapes, fused);
  });
  const cpu = await onBackend('cpu', () => valueAndGrads(shapes, composite));
  wasm.forEach((w, i) => assert.ok(relDiff(w, cpu[i]) < 2e-5, `${name}: ${i === 0 ? 'value' : `gradient ${i}`} differs by ${relDiff(w, cpu[i])}`));
}

test('fused linear, LayerNorm, GELU and log-probs match the composite ops on cpu', { skip }, async () => {
  await nativeMatchesCpu('linear', [[37, 19], [19, 23], [23]], (x, w, b) => fusedLinear(x as tf.Tensor2D, w, b), (x, w, b) => tf.matMul(x, w).add(b));
  await nativeMatchesCpu('layerNorm', [[37, 24], [24], [24]], (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D), (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D));
  await nativeMatchesCpu('gelu', [[37, 24]], (x) => gelu(x.mul(3) as tf.Tensor2D), (x) => gelu(x.mul(3) as tf.Tensor2D));
  const targets = Array.from({ length: 37 }, (_, i) => (i * 7) % 101);
  const logProbs = (x: tf.Tensor) => tokenLogProbs(x.mul(5) as tf.Tensor2D, tf.tensor1d(targets, 'int32'));
  await nativeMatchesCpu('tokenLogProbs', [[37, 101]], logProbs, logProbs);
});

test('fused causal attention matches softmax(q·kᵀ/√d + mask)·v on cpu, for uneven sizes', { skip }, async () => {
  for (const [B, T, H, C] of [[2, 13, 3, 12], [1, 40, 2, 16]]) {
    await nativeMatchesCpu(`attention B${B} T${T} H${H}`, [[B * T, 3 * C]], (qkv) => fusedAttention(qkv.mul(2) as tf.Tensor2D, B, T, H, 0, 0), (qkv) => referenceAttention(qkv.mul(2) as tf.Tensor2D, B, T, H));
  }
});

test('attention dropout repeats with its seed, drops about p, and has the gradient of what it computes', { skip }, async () => {
  await onBackend('wasm', () => {
    const [B, T, H, C] = [2, 16, 2, 8];
    const qkv = rand([B * T, 3 * C], 5, 2);
    const y = (seed: number, drop = 0.3) => read(tf.tidy(() => fusedAttention(qkv as tf.Tensor2D, B, T, H, drop, seed)));
    assert.deepEqual(y(1), y(1), 'the same seed gives the same output');
    assert.ok(maxAbsDiff(y(1), y(2)) > 1e-3, 'another seed drops other entries');
    assert.ok(maxAbsDiff(y(1, 0), y(1)) > 1e-3, 'dropout changes the output');
    // With v = 1 in every column, each output is the sum of a row's kept, rescaled probabilities: 1 on average.
    const ones = tf.concat([qkv.slice([0, 0], [B * T, 2 * C]), tf.ones([B * T, C])], 1) as tf.Tensor2D;
    const sums = read(tf.tidy(() => fusedAttention(ones, B, T, H, 0.3, 9)));
    const mean = sums.reduce((a, b) => a + b, 0) / sums.length;
    assert.ok(Math.abs(mean - 1) < 0.15, `kept probabilities rescale to 1 on average, got ${mean}`);
    // Finite differences through the fixed dropout mask of seed 4.
    const w = rand([B * T, C], 8);
    const f = (x: tf.Tensor) => fusedAttention(x as tf.Tensor2D, B, T, H, 0.3, 4).mul(w).sum();
    const analytic = read(tf.tidy(() => tf.grad(f)(qkv)));
    const base = read(qkv);
    const order = analytic.map((g, i) => [Math.abs(g), i]).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
    for (const i of [...order.slice(0, 6), 3 * C + 1, 2 * C + 5]) {
      const at = (d: number) => tf.tidy(() => {
        const v = base.slice();
        v[i] += d;
        return f(tf.tensor2d(v, qkv.shape as [number, number])).dataSync()[0];
      });
      const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
      assert.ok(Math.abs(numeric - analytic[i]) < 2e-3 + 0.02 * Math.abs(analytic[i]), `qkv[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
    }
    tf.dispose([qkv, ones, w]);
  });
});

test('the fused AdamW update equals the op-by-op one, with weight decay and gradient scaling', { skip }, async () => {
  const steps = () => {
    const params = { w: tf.variable(rand([9, 7], 1)), b: tf.variable(rand([7], 2)) };
    const opt = new AdamW({ weightDecay: 0.1 });
    for (let s = 0; s < 3; s++) {
      const grads = { w: rand([9, 7], 10 + s), b: rand([7], 20 + s) };
      opt.apply(params, grads, 0.01, s === 1 ? 0.25 : 1);
      tf.dispose(Object.values(grads));
    }
    const out = [read(params.w), read(params.b), read(opt.slots.w.m), read(opt.slots.w.v)];
    opt.dispose();
    tf.dispose(Object.values(params));
    return out;
  };
  const wasm = await onBackend('wasm', steps);
  const cpu = await onBackend('cpu', steps);
  wasm.forEach((w, i) => assert.ok(relDiff(w, cpu[i]) < 1e-5, `array ${i} differs by ${relDiff(w, cpu[i])}`));
});

test('an embedding id or a target outside the vocabulary is an error, not a read out of bounds', { skip }, async () => {
  await onBackend('wasm', () => {
    const table = tf.ones([5, 3]);
    assert.throws(() => tf.gather(table, tf.tensor1d([1, 5], 'int32')), /outside the table/);
    assert.throws(() => tokenLogProbs(tf.zeros([2, 5]) as tf.Tensor2D, tf.tensor1d([0, 7], 'int32')), /outside the vocabulary/);
    table.dispose();
  });
});
