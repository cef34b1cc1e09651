// Backend choice: TF_BACKEND or an explicit preference wins; auto falls back to wasm here, where
// @tensorflow/tfjs-node cannot be installed; a backend that cannot load is an error, not a fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from '../../packages/ml/src/index.ts';

const nativeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

test('auto picks native TensorFlow when installed, else wasm with SIMD', async () => {
  const name = await initBackend('auto');
  assert.equal(name, nativeInstalled ? 'tensorflow' : 'wasm');
  assert.equal(tf.getBackend(), name);
  if (name === 'wasm') assert.match(backendInfo(), /^wasm \(SIMD/);
});

test('TF_BACKEND chooses the backend; bad values are refused by name', async () => {
  process.env.TF_BACKEND = 'cpu';
  try {
    assert.equal(await initBackend(), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  } finally {
    delete process.env.TF_BACKEND;
  }
  await assert.rejects(initBackend('gpu'), /TF_BACKEND must be one of auto\|tensorflow\|wasm\|cpu/);
  if (!nativeInstalled) await assert.rejects(initBackend('tensorflow'), /could not be initialised/);
});
