// Shared helpers for the ML tests: run the same computation on two backends and compare.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../packages/ml/src/index.ts';

/** Runs fn on the given backend and returns its results as plain arrays. */
export async function onBackend<T>(name: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await initBackend(name);
  return fn();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Largest |a−b| relative to the largest |b|. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export const read = (t: tf.Tensor) => Array.from(t.dataSync());
