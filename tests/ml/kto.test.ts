// KTO on unpaired answers (desirable: mentions "cat"; undesirable: does not), as thumbs up/down or
// the best and worst answer of a ranking would give: the held-out log-ratio of desirable answers
// rises above that of undesirable ones, and the same seed repeats the run bit for bit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, mulberry32, trainKto, trainSft, TrainingError, type CausalLM, type KtoProgress, type Tokenizer, type UnpairedExample } from '../../packages/ml/src/index.ts';
import { demonstrations, PROMPTS, pretrainedBase, randomAnswer, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let sft: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  const base = await pretrainedBase(tok);
  sft = (await trainSft({ model: base, tokenizer: tok, data: demonstrations(120, 2), config: { epochs: 8, batchSize: 16, lr: 5e-3, warmupSteps: 5, evalEvery: 100, seed: 3 } })).model;
  base.dispose();
});

/** n examples, a third of them desirable (unbalanced, as thumbs are). */
function unpaired(n: number, seed: number): UnpairedExample[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 3 === 0;
    return { prompt: PROMPTS[i % PROMPTS.length], completion: randomAnswer(rand, label), label };
  });
}

const CONFIG = { epochs: 2, batchSize: 16, lr: 2e-3, beta: 0.1, desirableWeight: 2, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 };
let first: { progress: KtoProgress[]; weights: Float32Array };

test('KTO moves the log-ratio of desirable answers above that of undesirable ones (held out)', async () => {
  const sftBefore = sft.params.wte.dataSync().slice();
  const progress: KtoProgress[] = [];
  const res = await trainKto({ policy: sft, tokenizer: tok, examples: unpaired(300, 8), config: CONFIG, onProgress: (p) => progress.push(p) });
  assert.deepEqual([res.trainExamples, res.valExamples, res.desirable, res.undesirable], [240, 60, 100, 200]);
  assert.ok(Math.abs(res.initial.margin) < 1e-3, `the copy starts at the reference: margin ${res.initial.margin}`);
  assert.ok(res.final.desirableLogRatio > res.final.undesirableLogRatio + 1, JSON.stringify(res.final));
  assert.ok(res.final.loss < res.initial.loss);
  assert.ok(progress.every((p) => Number.isFinite(p.margin) && p.kl >= 0));
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the reference (SFT) model is frozen');
  first = { progress, weights: res.policy.params.wte.dataSync<'float32'>().slice() };
  res.policy.dispose();
});

test('the same seed repeats the run bit for bit', async () => {
  const progress: KtoProgress[] = [];
  const res = await trainKto({ policy: sft, tokenizer: tok, examples: unpaired(300, 8), config: CONFIG, onProgress: (p) => progress.push(p) });
  const strip = (ps: KtoProgress[]) => ps.map((p) => ({ ...p, etaSeconds: 0, examplesPerSecond: 0 }));
  assert.deepEqual(strip(progress), strip(first.progress));
  assert.ok(Buffer.from(res.policy.params.wte.dataSync<'float32'>().buffer).equals(Buffer.from(first.weights.buffer)));
  res.policy.dispose();
});

test('examples of one side only are refused, naming what is missing', async () => {
  await assert.rejects(
    trainKto({ policy: sft, tokenizer: tok, examples: unpaired(6, 1).map((e) => ({ ...e, label: true })) }),
    (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /undesirable examples/.test(e.message),
  );
});
