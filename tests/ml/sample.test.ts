// Sampling from a briefly trained model: the KV cache changes speed, not tokens; seeds repeat;
// stop tokens, top-k/top-p and batches of K answers behave.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { answerText, cloneModel, DEFAULT_SPECIAL_TOKENS, ENDOFTEXT, generate, initBackend, pickToken, pretrain, mulberry32, specialStopIds, type CausalLM, type Tokenizer } from '../../packages/ml/src/index.ts';
import { REPETITIVE } from './fixtures/corpus.ts';

let model: CausalLM;
let tokenizer: Tokenizer;
before(async () => {
  await initBackend('wasm');
  ({ model, tokenizer } = await pretrain({
    corpus: REPETITIVE,
    config: { preset: 'tiny', vocabSize: 300, steps: 80, batchSize: 8, lr: 5e-3, warmupSteps: 8, evalEvery: 80, evalBatches: 1, seed: 1 },
  }));
});

test('KV-cache sampling gives the same tokens as no-cache sampling at temperature 0, past the context', () => {
  const prompt = tokenizer.encode('the quick');
  // 40 new tokens with a 32-token context: the cache fills and generation carries on.
  const cached = generate(model, prompt, { temperature: 0, maxTokens: 40 });
  const uncached = generate(model, prompt, { temperature: 0, maxTokens: 40, cache: false });
  assert.equal(cached[0].tokens.length, 40);
  assert.deepEqual(cached[0].tokens, uncached[0].tokens);
  assert.match(tokenizer.decode(cached[0].tokens), /brown fox/);
});

test('the same seed repeats a sample; K answers come from one batched call', () => {
  const prompt = tokenizer.encode('a stitch');
  const a = generate(model, prompt, { temperature: 1.5, seed: 7, maxTokens: 12, n: 4 });
  const b = generate(model, prompt, { temperature: 1.5, seed: 7, maxTokens: 12, n: 4 });
  assert.equal(a.length, 4);
  assert.deepEqual(a, b);
  assert.ok(new Set(a.map((s) => s.tokens.join(','))).size > 1, 'answers differ from each other');
  const c = generate(model, prompt, { temperature: 1.5, seed: 8, maxTokens: 12, n: 4 });
  assert.notDeepEqual(a, c);
});

test('a stop token ends an answer and is not returned', () => {
  const prompt = tokenizer.encode('the quick brown');
  const free = generate(model, prompt, { temperature: 0, maxTokens: 20 })[0].tokens;
  const stopAt = free[3];
  const res = generate(model, prompt, { temperature: 0, maxTokens: 20, stop: [stopAt] })[0];
  assert.equal(res.finish, 'stop');
  assert.deepEqual(res.tokens, free.slice(0, free.indexOf(stopAt)));
});

test('top-k 1 is greedy; top-p keeps only the nucleus', () => {
  const logits = Float32Array.from([0.1, 3, 2.9, -1, 0]);
  const rand = mulberry32(1);
  for (let i = 0; i < 20; i++) assert.equal(pickToken(logits, { temperature: 1, topK: 1, topP: 1 }, rand), 1);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(pickToken(logits, { temperature: 1, topK: 0, topP: 0.8 }, rand));
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test('every special token ends an answer: a model forced to say end-of-text stops there, with nothing written', () => {
  const stops = specialStopIds(tokenizer);
  assert.deepEqual(stops, DEFAULT_SPECIAL_TOKENS.map((s) => tokenizer.specialId(s)));
  const eot = tokenizer.specialId(ENDOFTEXT);
  // Zero the final norm's gain and point its bias at a huge end-of-text embedding: with tied
  // embeddings every position's logits then favour end-of-text by hundreds of nats.
  const forced = cloneModel(model);
  const C = forced.config.nEmbd;
  forced.params['ln_f.g'].assign(tf.zeros([C]));
  forced.params['ln_f.b'].assign(tf.ones([C]));
  const wte = forced.params.wte;
  wte.assign(tf.tidy(() => wte.add(tf.oneHot([eot], forced.config.vocabSize).reshape([-1, 1]).mul(10))));
  try {
    const [first] = generate(forced, tokenizer.encode('the quick'), { temperature: 1, seed: 3, maxTokens: 10, stop: stops });
    assert.equal(first.finish, 'stop');
    assert.deepEqual(first.tokens, []);
    // without the stop ids, its text would be the literal marker: answerText never writes it
    const [unstopped] = generate(forced, tokenizer.encode('the quick'), { temperature: 1, seed: 3, maxTokens: 3 });
    assert.deepEqual(unstopped.tokens, [eot, eot, eot]);
    assert.equal(answerText(tokenizer, unstopped.tokens), '');
  } finally {
    forced.dispose();
  }
});

test('an answer is decoded as a whole: a character split over tokens stays whole, stray bytes leave no U+FFFD', () => {
  const bytes = [...new TextEncoder().encode('接龙')];
  // one byte per token (ids 0-255 are the bytes), so each character spans three tokens
  assert.equal(answerText(tokenizer, bytes), '接龙');
  const cut = [...bytes.slice(0, 4), 0xff, ...new TextEncoder().encode(' ok')];
  assert.equal(answerText(tokenizer, cut), '接 ok');
  assert.equal(answerText(tokenizer, [...new TextEncoder().encode('a'), tokenizer.specialId('<|user|>'), ...new TextEncoder().encode('b')]), 'ab');
});
