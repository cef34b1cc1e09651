// SFT as a researcher runs it: the loss is on the answer only, the fine-tuned model beats the
// base on held-out demonstrations, and LoRA trains adapters while the base stays byte-identical.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { holdOut, initBackend, sftBatch, sftValLoss, sftLoss, trainSft, TrainingError, type CausalLM, type SftProgress, type Tokenizer } from '../../packages/ml/src/index.ts';
import { demonstrations, pretrainedBase, PROMPTS, tinyModel, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let base: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  base = await pretrainedBase(tok);
});

test('the SFT loss ignores prompt targets and counts answer targets', () => {
  const model = tinyModel(tok);
  const examples = demonstrations(4, 1);
  tf.tidy(() => {
    const batch = sftBatch(tok, examples, model.config.blockSize);
    const mask = batch.mask.arraySync();
    const y = batch.y.arraySync();
    assert.ok(mask.flat().some((m) => m === 0) && mask.flat().some((m) => m === 1));
    const loss = (ys: number[][]) => sftLoss(model, { ...batch, y: tf.tensor2d(ys, undefined, 'int32') }).dataSync()[0];
    const base = loss(y);
    // Every target outside the answers (prompt, headers, padding) replaced by another token.
    const promptChanged = y.map((row, b) => row.map((t, i) => (mask[b][i] ? t : (t + 7) % tok.vocabSize)));
    assert.equal(loss(promptChanged), base);
    // One answer token changed: the loss must move.
    const b = 0;
    const i = mask[b].indexOf(1);
    const answerChanged = y.map((row) => row.slice());
    answerChanged[b][i] = (y[b][i] + 7) % tok.vocabSize;
    assert.notEqual(loss(answerChanged), base);
  });
  // The mask covers exactly the answer and its <|end|>: "red cat" → tokens + 1.
  tf.tidy(() => {
    const batch = sftBatch(tok, [{ prompt: PROMPTS[0], answer: 'red cat' }], model.config.blockSize);
    assert.equal(batch.mask.sum().dataSync()[0], tok.encode('red cat').length + 1);
  });
  model.dispose();
});

test("full fine-tuning lowers the held-out loss far below the base model's, with progress reported", async () => {
  const before = base.params.wte.dataSync().slice();
  const progress: SftProgress[] = [];
  const res = await trainSft({
    model: base,
    tokenizer: tok,
    data: demonstrations(120, 2),
    config: { epochs: 5, batchSize: 16, lr: 5e-3, warmupSteps: 5, evalEvery: 6, patience: 2, valFraction: 0.2, seed: 3 },
    onProgress: (p) => progress.push(p),
  });
  // The base knows the words but not the chat template; answers of 2–4 of 8 words cost ≈ 1.8 nats a token at best.
  assert.ok(res.baseValLoss > 4, `the base does not answer yet: ${res.baseValLoss}`);
  assert.ok(res.bestValLoss < 2.5, `fine-tuned ${res.bestValLoss} vs base ${res.baseValLoss}`);
  assert.equal(progress.length, res.steps);
  assert.ok(progress.some((p) => p.phase === 'eval' && p.valLoss !== undefined));
  assert.ok(progress.every((p) => p.tokensPerSecond > 0 && p.etaSeconds >= 0 && Number.isFinite(p.trainLoss)));
  assert.deepEqual(base.params.wte.dataSync(), before, 'the base model passed in is not changed');
  assert.equal(res.model.lora, null);
  res.model.dispose();
});

test('LoRA trains adapters only: base weights stay byte-identical while the outputs change', async () => {
  const res = await trainSft({
    model: base,
    tokenizer: tok,
    data: demonstrations(60, 4),
    config: { lora: { rank: 4, alpha: 8 }, epochs: 5, batchSize: 16, lr: 1e-2, warmupSteps: 2, evalEvery: 100, seed: 5 },
  });
  assert.deepEqual(res.model.lora, { rank: 4, alpha: 8 });
  for (const [name, v] of Object.entries(base.params)) {
    const a = Buffer.from(v.dataSync<'float32'>().buffer);
    const b = Buffer.from(res.model.params[name].dataSync<'float32'>().buffer);
    assert.ok(a.equals(b), `${name} changed under LoRA`);
  }
  assert.ok(res.bestValLoss < res.baseValLoss - 1, `adapters learned: ${res.bestValLoss} vs ${res.baseValLoss}`);
  const logits = (m: typeof base) => tf.tidy(() => m.forward(tf.tensor2d([tok.encode('red cat dog')], undefined, 'int32')).logits!.dataSync());
  assert.notDeepEqual(logits(res.model), logits(base));
  res.model.dispose();
});

test('early stopping: when validation loss stops improving, training ends and the best model is returned', async () => {
  // Nine examples to memorise, three to validate on: validation loss soon turns up.
  const res = await trainSft({
    model: base,
    tokenizer: tok,
    data: demonstrations(12, 6),
    config: { epochs: 80, batchSize: 9, lr: 2e-2, minLr: 2e-2, warmupSteps: 0, valFraction: 0.25, evalEvery: 2, patience: 3, seed: 7 },
  });
  assert.equal(res.stopped?.code, 'early-stopped');
  assert.ok(res.steps < 80, `stopped after ${res.steps} of 80 steps`);
  const last = res.evals.at(-1)!;
  assert.ok(last.valLoss > res.bestValLoss && res.bestStep < res.steps);
  const val = holdOut(demonstrations(12, 6), 0.25, 7).val;
  assert.ok(Math.abs(sftValLoss(res.model, tok, val) - res.bestValLoss) < 1e-5, 'the returned model is the best one');
  res.model.dispose();
});

test('a bad config is refused naming the field', async () => {
  await assert.rejects(
    trainSft({ model: base, tokenizer: tok, data: demonstrations(10, 1), config: { batchSize: 0 } }),
    (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /batchSize/.test(e.message),
  );
});
