// Data-parallel gradients: splitting a batch over two threads gives the gradients of the whole batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { GPT, GradientWorkers, initBackend, lmLoss, type LmBatch } from '../../packages/ml/src/index.ts';
import { randomValues, read, relDiff } from './helpers.ts';

await initBackend('wasm');

test('two threads compute the gradients of the whole batch, with uneven masks', async () => {
  const model = new GPT({ vocabSize: 40, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 }, { seed: 3 });
  model.addLora({ rank: 2, alpha: 2 });
  const r = randomValues(5 * 8 * 3, 17);
  const batch: LmBatch = {
    x: Int32Array.from(r.slice(0, 40), (v) => Math.floor((v + 1) * 20)),
    y: Int32Array.from(r.slice(40, 80), (v) => Math.floor((v + 1) * 20)),
    mask: Float32Array.from(r.slice(80, 120), (v, i) => (i < 8 || v > 0 ? 1 : 0)),
    rows: 5,
    T: 8,
  };
  const single = tf.tidy(() => {
    const g = model.gradients(() => lmLoss(model, batch, false, 0));
    return { loss: g.loss.dataSync()[0], grads: Object.fromEntries(Object.entries(g.grads).map(([k, v]) => [k, read(v)])) };
  });
  const workers = await GradientWorkers.start(model, 2);
  try {
    const par = await workers.gradients(model, batch, { training: false, seed: 0 });
    assert.ok(Math.abs(par.loss - single.loss) < 1e-5, `${par.loss} vs ${single.loss}`);
    assert.deepEqual(Object.keys(par.grads).sort(), Object.keys(single.grads).sort());
    for (const [k, g] of Object.entries(par.grads)) assert.ok(relDiff(read(g), single.grads[k]) < 1e-4, k);
    tf.dispose(Object.values(par.grads));
    // A long run leaves no per-step listeners behind (Node warns past 10 on one emitter).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    for (let i = 0; i < 12; i++) tf.dispose(Object.values((await workers.gradients(model, batch, { training: false, seed: i })).grads));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
  } finally {
    await workers.close();
    model.dispose();
  }
});
