// Checkpoints: everything saved comes back bit for bit, corruption is detected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AdamW, GPT, BpeTokenizer, type CausalLM, initBackend, loadCheckpoint, saveCheckpoint } from '../../packages/ml/src/index.ts';
import { REPETITIVE } from './fixtures/corpus.ts';

await initBackend('wasm');

test('a checkpoint round-trips bit-exactly: weights, LoRA, head, optimizer, tokenizer, state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-ckpt-'));
  const tokenizer = BpeTokenizer.train(REPETITIVE, { vocabSize: 280 });
  const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 }, { seed: 8 });
  model.addLora({ rank: 2, alpha: 8 });
  model.attachHead();
  const optimizer = new AdamW({ weightDecay: 0.05 });
  const x = tf.tensor2d([tokenizer.encode('the quick brown fox').slice(0, 8)], undefined, 'int32');
  for (let i = 0; i < 2; i++) {
    tf.tidy(() => {
      const { grads } = model.gradients(() => model.forward(x, { head: true }).head!.sum().add(model.forward(x).logits!.mean()) as tf.Scalar);
      optimizer.apply(model.params, grads, 1e-2);
    });
  }
  await saveCheckpoint(join(dir, 'ck'), { model, tokenizer, optimizer, state: { step: 2, note: 'hello' } });
  // Saving again over it is atomic and leaves no temp folders behind.
  await saveCheckpoint(join(dir, 'ck'), { model, tokenizer, optimizer, state: { step: 2, note: 'hello' } });

  const back = await loadCheckpoint(join(dir, 'ck'));
  assert.deepEqual(back.model.config, model.config);
  assert.deepEqual(back.model.lora, model.lora);
  assert.deepEqual(Object.keys(back.model.params).sort(), Object.keys(model.params).sort());
  for (const [name, v] of Object.entries(model.params)) assert.deepEqual(back.model.params[name].dataSync(), v.dataSync(), name);
  assert.equal(back.optimizer!.step, 2);
  assert.deepEqual(back.optimizer!.config, optimizer.config);
  for (const [name, s] of Object.entries(optimizer.slots)) {
    assert.deepEqual(back.optimizer!.slots[name].m.dataSync(), s.m.dataSync());
    assert.deepEqual(back.optimizer!.slots[name].v.dataSync(), s.v.dataSync());
  }
  assert.deepEqual(back.state, { step: 2, note: 'hello' });
  assert.deepEqual(back.tokenizer!.encode('a stitch in time'), tokenizer.encode('a stitch in time'));
  const out = (m: CausalLM) => tf.tidy(() => Array.from(m.forward(x).logits!.dataSync()));
  assert.deepEqual(out(back.model), out(model));

  // A flipped byte in the weights is refused, not silently loaded.
  const wpath = join(dir, 'ck', 'weights.bin');
  const bytes = readFileSync(wpath);
  bytes[100] ^= 0xff;
  writeFileSync(wpath, bytes);
  await assert.rejects(loadCheckpoint(join(dir, 'ck')), /sha256/);
  for (const m of [model, back.model]) m.dispose();
  rmSync(dir, { recursive: true, force: true });
});
