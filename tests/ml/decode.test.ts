// The native sampling forward pass (kernels/decode.ts, native/decode.c) against the tfjs model it
// stands in for: the same next-token logits at every step, for both families and their variants (LoRA,
// untied head, q/k/v biases, grouped-query attention, llama3 rope), rows at different positions in one
// call; the native pick is pickToken's; greedy tokens with the decoder equal those without it; a batch
// of prompts gives each prompt's own answers.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  createModel, generate, generateBatch, GPT, initBackend, llamaConfig, mulberry32, pickToken, type CausalLM, type ModelConfig,
} from '../../packages/ml/src/index.ts';
import { NativeDecoder } from '../../packages/ml/src/kernels/decode.ts';
import { maxAbsDiff, randomValues, read } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

const VARIANTS: Record<string, { config: ModelConfig; lora?: boolean }> = {
  gpt: { config: { vocabSize: 61, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0 } },
  'gpt with LoRA': { config: { vocabSize: 61, blockSize: 24, nLayer: 2, nHead: 4, nEmbd: 16, dropout: 0 }, lora: true },
  'llama, grouped-query, tied': { config: llamaConfig({ vocabSize: 48, blockSize: 24, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 16, hiddenSize: 40, tiedEmbeddings: true }) },
  'llama, multi-query, untied, biases, llama3 rope, LoRA on every projection': {
    config: llamaConfig({
      vocabSize: 48, blockSize: 24, nLayer: 2, nHead: 4, nKvHead: 1, nEmbd: 16, hiddenSize: 40, tiedEmbeddings: false, attentionBias: true,
      ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8 },
    }),
    lora: true,
  },
};

/** A model whose biases, norms and LoRA B are random too, so that each of them changes the logits. */
function model(name: string): CausalLM {
  const v = VARIANTS[name];
  const m = createModel(v.config, { seed: 5 });
  if (v.lora) m.addLora({ rank: 2, alpha: 4, targets: [...m.loraModules] }); // every projection
  let seed = 11;
  for (const [n, p] of Object.entries(m.params)) {
    if (n.endsWith('.b') || n.endsWith('.g') || n.endsWith('.lora_b')) p.assign(tf.tensor(randomValues(p.size, seed++), p.shape).mul(n.endsWith('.g') ? 0.3 : 0.5).add(n.endsWith('.g') ? 1 : 0));
  }
  return m;
}

/** Logits of the last position of `ids` through the tfjs forward pass without a cache. */
const tfLogits = (m: CausalLM, ids: number[]) => tf.tidy(() => read(m.forward(tf.tensor2d([ids], undefined, 'int32')).logits!).slice(-m.config.vocabSize));

for (const name of Object.keys(VARIANTS)) {
  test(`the native decoder gives the tfjs logits, prefill and step by step: ${name}`, () => {
    const m = model(name);
    const decoder = NativeDecoder.of(m)!;
    assert.ok(decoder, 'the native kernels are built');
    const V = m.config.vocabSize;
    const a = [3, 9, 4, 17, 30, 2, 11, 8, 40, 5, 1, 7];
    const b = [12, 6, 33, 21];
    const cache = decoder.newCache(3, 16);
    // Row 2 takes prompt a, row 0 prompt b: one call each, then steps with both rows at their own positions.
    const pa = decoder.forward(cache, Int32Array.from(a.slice(0, 5)), Int32Array.of(2), Int32Array.of(0), 5);
    assert.ok(maxAbsDiff(pa, tfLogits(m, a.slice(0, 5))) < 1e-4, `prefill logits differ by ${maxAbsDiff(pa, tfLogits(m, a.slice(0, 5)))}`);
    decoder.forward(cache, Int32Array.from(b.slice(0, 2)), Int32Array.of(0), Int32Array.of(0), 2);
    for (let t = 5; t < a.length; t++) {
      const bt = 2 + ((t - 5) % 2); // row 0 alternates between b[2] and b[3] at positions 2 and 3
      const both = decoder.forward(cache, Int32Array.of(a[t], b[bt]), Int32Array.of(2, 0), Int32Array.of(t, bt), 1);
      const wantA = tfLogits(m, a.slice(0, t + 1));
      const wantB = tfLogits(m, [...b.slice(0, bt), b[bt]]);
      assert.ok(maxAbsDiff(both.subarray(0, V), wantA) < 1e-4, `step ${t}: row a differs by ${maxAbsDiff(both.subarray(0, V), wantA)}`);
      assert.ok(maxAbsDiff(both.subarray(V), wantB) < 1e-4, `step ${t}: row b differs by ${maxAbsDiff(both.subarray(V), wantB)}`);
    }
    m.dispose();
  });
}

test('the decoder refuses positions past its cache and token ids outside the vocabulary', () => {
  const m = model('gpt');
  const decoder = NativeDecoder.of(m)!;
  const cache = decoder.newCache(1, 4);
  assert.throws(() => decoder.forward(cache, Int32Array.of(1, 2, 3, 4, 5), Int32Array.of(0), Int32Array.of(0), 5), /past the cache/);
  assert.throws(() => decoder.forward(cache, Int32Array.of(99), Int32Array.of(0), Int32Array.of(0), 1), /outside the vocabulary/);
  assert.throws(() => decoder.forward(cache, Int32Array.of(1), Int32Array.of(1), Int32Array.of(0), 1), /outside the cache/);
  m.dispose();
});

test('the native pick is pickToken: same logits and draws, same tokens, for greedy, temperature, top-k and top-p', () => {
  const m = model('gpt');
  const decoder = NativeDecoder.of(m)!;
  const V = m.config.vocabSize;
  const n = 40;
  const logits = randomValues(n * V, 3).map((x) => x * 4);
  logits[5 * V + 7] = logits[5 * V + 8] = 9; // a tie: the lower id comes first, as in a stable sort
  for (const opts of [
    { temperature: 0, topK: 0, topP: 1 }, { temperature: 1, topK: 0, topP: 1 }, { temperature: 0.7, topK: 5, topP: 1 },
    { temperature: 1.3, topK: 0, topP: 0.6 }, { temperature: 1, topK: 10, topP: 0.9 }, { temperature: 1, topK: 1, topP: 1 },
  ]) {
    const rand = mulberry32(9);
    const draws = Float64Array.from({ length: n }, () => rand());
    const want = Array.from({ length: n }, (_, i) => pickToken(logits.subarray(i * V, (i + 1) * V), opts, () => draws[i]));
    assert.deepEqual(Array.from(decoder.pick(logits, n, opts, draws)), want, JSON.stringify(opts));
  }
  m.dispose();
});

test('greedy tokens with the native decoder equal those without it, past the context, for both families with LoRA', () => {
  for (const name of ['gpt with LoRA', 'llama, multi-query, untied, biases, llama3 rope, LoRA on every projection']) {
    const m = model(name);
    const prompt = [3, 9, 4, 17, 30];
    // 30 new tokens with a 24-token context: the cache fills and each later token recomputes its window.
    const native = generate(m, prompt, { temperature: 0, maxTokens: 30, n: 2 });
    const plain = generate(m, prompt, { temperature: 0, maxTokens: 30, n: 2, cache: false });
    assert.equal(native[0].tokens.length, 30);
    assert.deepEqual(native, plain, name);
    m.dispose();
  }
});

test('a batch of prompts gives each prompt the answers generate gives it alone, stops and seeds included', () => {
  const m = model('gpt');
  const prompts = [[1, 2, 3], [7, 8, 9, 10, 11, 12, 13], [40]];
  const free = generate(m, prompts[1], { temperature: 0, maxTokens: 12 })[0].tokens;
  const opts = { temperature: 1.2, topP: 0.95, maxTokens: 12, stop: [free[4]] };
  const batch = generateBatch(m, prompts.map((prompt, i) => ({ prompt, n: i + 1, seed: 100 + i })), opts);
  prompts.forEach((prompt, i) => assert.deepEqual(batch[i], generate(m, prompt, { ...opts, n: i + 1, seed: 100 + i }), `prompt ${i}`));
  const greedy = generateBatch(m, prompts.map((prompt) => ({ prompt })), { temperature: 0, maxTokens: 12, stop: [free[4]] });
  assert.equal(greedy[1][0].finish, 'stop');
  assert.deepEqual(greedy[1][0].tokens, free.slice(0, free.indexOf(free[4])));
  assert.ok(m instanceof GPT);
  m.dispose();
});
