// Pre-training as a user runs it: the loss falls, bad settings are refused, divergence and
// overfitting are detected, and a killed run resumes from its checkpoint to the same result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gptConfig, initBackend, loadCheckpoint, overfitting, pretrain, rowsPerPass, suggestedLr, TrainingError, type PretrainProgress } from '../../packages/ml/src/index.ts';
import { REPETITIVE, randomLetters } from './fixtures/corpus.ts';
import { RESUME_CONFIG } from './fixtures/resume-config.ts';

await initBackend('wasm');
const tmp = () => mkdtempSync(join(tmpdir(), 'ml-train-'));

test('loss on a repetitive text falls below 1 nat within 80 steps, with progress reported', async () => {
  const progress: PretrainProgress[] = [];
  const res = await pretrain({
    corpus: REPETITIVE,
    config: { preset: 'tiny', vocabSize: 300, steps: 80, batchSize: 8, lr: 5e-3, warmupSteps: 8, evalEvery: 20, evalBatches: 2, seed: 1 },
    onProgress: (p) => progress.push(p),
  });
  const train = progress.filter((p) => p.phase !== 'tokenizer');
  assert.equal(train.length, 80);
  assert.ok(train[0].trainLoss > 4, `starts near ln(vocab): ${train[0].trainLoss}`);
  assert.ok(res.bestValLoss < 1, `validation loss ${res.bestValLoss}`);
  const last = train.at(-1)!;
  assert.ok(last.valLoss! < 1 && last.bitsPerByte! > 0 && last.bitsPerByte! < last.valLoss!);
  assert.ok(train.every((p) => p.tokensPerSecond > 0 && p.etaSeconds >= 0 && p.lr > 0));
  assert.equal(res.stopped, null);
  res.model.dispose();
});

test('a NaN learning rate is refused before training starts', async () => {
  await assert.rejects(
    pretrain({ corpus: REPETITIVE, config: { preset: 'tiny', vocabSize: 300, lr: NaN } }),
    (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /lr/.test(e.message) && !!e.suggestion,
  );
});

test('an exploding loss stops with "diverged" and suggests a learning rate well below the one that blew up', async () => {
  const before = tf.memory().numTensors;
  await assert.rejects(
    pretrain({ corpus: REPETITIVE, config: { preset: 'tiny', vocabSize: 300, steps: 200, batchSize: 4, lr: 30, warmupSteps: 0, gradClip: 0, evalEvery: 50 } }),
    (e: unknown) => {
      assert.ok(e instanceof TrainingError, String(e));
      assert.equal(e.code, 'diverged');
      assert.match(e.suggestion!, /lr=1e-3$/);
      assert.deepEqual(Object.keys(e.toJSON()), ['code', 'message', 'suggestion', 'params']);
      assert.ok((e.params.lr as number) <= 30, 'the rate of the step that blew up');
      assert.equal(e.params.suggestedLr, 1e-3);
      assert.equal(typeof e.params.step, 'number');
      return true;
    },
  );
  assert.ok(tf.memory().numTensors - before < 100, 'no large tensor leak on failure');
});

test('a run that blows up during warm-up is told a rate below where it blew up, not below the target', async () => {
  // the seed: lr 50 diverged at 5.5 during warm-up and was told "lr=1.7e+1"
  await assert.rejects(
    pretrain({ corpus: REPETITIVE, config: { preset: 'tiny', vocabSize: 300, steps: 200, batchSize: 4, lr: 50, warmupSteps: 100, evalEvery: 50 } }),
    (e: unknown) => {
      assert.ok(e instanceof TrainingError && e.code === 'diverged', String(e));
      const { lr, suggestedLr: advised } = e.params as { lr: number; suggestedLr: number };
      assert.ok(lr < 50, `diverged during warm-up, at ${lr}`);
      assert.ok(advised <= lr / 10 && advised <= 1e-3, `advised ${advised} for a blow-up at ${lr}`);
      return true;
    },
  );
  assert.equal(suggestedLr(5.5, 1e-3), 1e-3);
  assert.equal(suggestedLr(5.5e-3, 1e-3), 5e-4);
  assert.equal(suggestedLr(2e-4, 1e-3), 2e-5);
});

test('overfitting is told by validation against its best, not eval to eval: a noisy training loss does not hide it', () => {
  // the seed's run: validation up at every evaluation, training down with one blip
  const seed = [
    { valLoss: 7.4, trainLoss: 3.1 },
    { valLoss: 7.6, trainLoss: 2.5 },
    { valLoss: 7.7, trainLoss: 2.6 },
    { valLoss: 7.9, trainLoss: 2.1 },
    { valLoss: 8.1, trainLoss: 1.8 },
  ];
  assert.equal(overfitting(seed.slice(0, 3), 3), 0, 'two evaluations after the best are not yet three');
  assert.equal(overfitting(seed.slice(0, 4), 3), 3);
  assert.equal(overfitting(seed, 3), 4);
  // a plateau where training does not improve either is not overfitting
  assert.equal(overfitting(seed.map((e) => ({ ...e, trainLoss: 3.2 })), 3), 0);
  // a new best resets it
  assert.equal(overfitting([...seed, { valLoss: 7.0, trainLoss: 1.7 }], 3), 0);
});

test('overfitting is detected and the best model is kept', async () => {
  // Random letters: the training split can only be memorised, so validation loss turns up.
  const text = randomLetters(1400, 3);
  const res = await pretrain({
    corpus: text,
    config: { preset: 'tiny', model: { nEmbd: 64, nLayer: 2, nHead: 2 }, vocabSize: 262, steps: 600, batchSize: 16, lr: 1e-2, warmupSteps: 5, valFraction: 0.3, evalEvery: 10, evalBatches: 2, patience: 3, seed: 2 },
  });
  assert.ok(res.stopped, 'stopped early');
  assert.equal(res.stopped.code, 'overfit-stopped');
  assert.match(res.stopped.suggestion, /more varied/);
  assert.equal(res.stopped.params.bestStep, res.bestStep);
  assert.ok(res.steps < 600);
  const best = res.evals.find((e) => e.step === res.bestStep)!;
  assert.equal(best.valLoss, Math.min(...res.evals.map((e) => e.valLoss)));
  assert.ok(res.evals.at(-1)!.valLoss > best.valLoss);
  assert.ok(res.evals.at(-1)!.trainLoss < best.trainLoss);
  res.model.dispose();
});

test('a run killed mid-way resumes from its last checkpoint and ends where an unkilled run ends', async () => {
  const killed = tmp();
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/pretrain-child.ts')], {
    env: { ...process.env, OUT_DIR: killed, KILL_AT_STEP: '7' },
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr.slice(-2000));
  assert.ok(existsSync(join(killed, 'checkpoint/manifest.json')), 'checkpoint of step 5 exists');
  assert.ok(!existsSync(join(killed, 'model')), 'the killed run never finished');
  const stepsSeen: number[] = [];
  const resumed = await pretrain({ corpus: REPETITIVE, config: RESUME_CONFIG, outDir: killed, resume: true, onProgress: (p) => stepsSeen.push(p.step) });
  assert.equal(stepsSeen[0], 6, 'continues after the step-5 checkpoint');

  const fresh = await pretrain({ corpus: REPETITIVE, config: RESUME_CONFIG });
  assert.equal(resumed.bestStep, fresh.bestStep);
  for (const [name, v] of Object.entries(fresh.model.params)) {
    assert.deepEqual(resumed.model.params[name].dataSync(), v.dataSync(), `${name} differs`);
  }
  const saved = await loadCheckpoint(join(killed, 'model'));
  assert.deepEqual(saved.model.params.wte.dataSync(), fresh.model.params.wte.dataSync());
  for (const m of [resumed.model, fresh.model, saved.model]) m.dispose();
  rmSync(killed, { recursive: true, force: true });
});

test('gradient accumulation: a batch trained in passes of 2 rows follows the one-pass run', async () => {
  const config = { preset: 'tiny' as const, vocabSize: 300, steps: 12, batchSize: 6, lr: 5e-3, warmupSteps: 2, evalEvery: 12, evalBatches: 1, seed: 3 };
  const losses = async (microBatch: number) => {
    const seen: number[] = [];
    const res = await pretrain({ corpus: REPETITIVE, config: { ...config, microBatch }, onProgress: (p) => p.phase !== 'tokenizer' && seen.push(p.trainLoss) });
    res.model.dispose();
    return seen;
  };
  const whole = await losses(0);
  const passes = await losses(2);
  assert.equal(passes.length, 12);
  // The same mean gradient, summed in another order: float rounding only.
  passes.forEach((l, i) => assert.ok(Math.abs(l - whole[i]) < 1e-3, `step ${i + 1}: ${l} vs ${whole[i]}`));
  assert.ok(whole.at(-1)! < whole[0] - 0.5, 'and both runs learn');
});

test('rows per pass fit the 4 GB wasm heap; a microBatch that cannot fit is refused naming the field', () => {
  const small = gptConfig('small', { vocabSize: 2048 });
  assert.equal(rowsPerPass(small, 8, 1, 0), 8, 'the small preset fits 8 rows of 256 in one pass');
  assert.equal(rowsPerPass(small, 64, 1, 0), 22, 'and 64 rows in three passes (22, 22, 20)');
  assert.equal(rowsPerPass(small, 64, 2, 0), 16, 'or two passes of 16 on each of two threads');
  assert.equal(rowsPerPass(small, 8, 1, 3), 3);
  assert.throws(() => rowsPerPass(small, 64, 1, 64), (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /microBatch/.test(e.message) && /microBatch to \d+/.test(e.suggestion!));
});
