// Frozen base weights outside the wasm heap (packages/ml/src/kernels/frozen.ts): a model whose 2-D
// weights are plain Float32Arrays gives the logits and LoRA gradients of the same model in the heap,
// on GPT- and Llama-shaped models (tied and untied heads, grouped-query attention, biases, with and
// without the KV cache); checkpoints round-trip it; stories260K loaded frozen still decodes the
// llama2.c reference; and ~200 MB of frozen weights do not grow the heap, where the same model
// loaded into the heap does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  cloneModel, createModel, generate, gptConfig, initBackend, llamaConfig, loadCheckpoint, modelFromTensors, readLlama2c, readLlama2cTokenizer,
  saveCheckpoint, type CausalLM, type ModelConfig,
} from '../../packages/ml/src/index.ts';
import { native, nativeActive } from '../../packages/ml/src/kernels/native.ts';
import { maxAbsDiff, randomValues, read } from './helpers.ts';

const MODELS = join(import.meta.dirname, '../../../shared/data/models');
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/stories260K-greedy.json'), 'utf8')) as { ids: number[]; steps: number };
const skip = native ? false : process.env.CI ? false : 'native kernels off (JIELONG_NATIVE=0) or not built';

before(async () => {
  await initBackend('wasm');
});

const SHAPES: [string, ModelConfig][] = [
  ['GPT', gptConfig('tiny', { vocabSize: 53 })],
  ['Llama, tied, grouped-query', llamaConfig({ vocabSize: 53, blockSize: 16, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 16, hiddenSize: 40, tiedEmbeddings: true })],
  ['Qwen2-like, untied, q/k/v biases', llamaConfig({ vocabSize: 53, blockSize: 16, nLayer: 2, nHead: 4, nKvHead: 1, nEmbd: 16, hiddenSize: 40, attentionBias: true })],
];

/** The model's weights as arrays, with small random values where it starts at constants (so biases and gains matter). */
function valuesOf(model: CausalLM): Record<string, Float32Array> {
  return Object.fromEntries(
    model.weightNames().map((n, i) => {
      const noise = randomValues(model.weightValues(n).length, 7 * i + 1);
      return [n, Float32Array.from(model.weightValues(n), (v, j) => v + 0.05 * noise[j])];
    }),
  );
}

/** Logits, log-probs and (with LoRA on) the adapters' gradients of one masked batch, and cached decoding logits. */
function outputs(model: CausalLM, withGrads = true): { logits: number[]; logProbs: number[]; grads: Record<string, number[]>; cached: number[] } {
  const T = 8;
  return tf.tidy(() => {
    const ids = Array.from({ length: 2 * (T + 1) }, (_, i) => (i * 17 + 5) % model.config.vocabSize);
    const x = tf.tensor2d([ids.slice(0, T), ids.slice(T + 1, 2 * T + 1)], undefined, 'int32');
    const y = tf.tensor2d([ids.slice(1, T + 1), ids.slice(T + 2)], undefined, 'int32');
    const mask = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1, 0, 0]]);
    const out = model.forward(x, { targets: y, mask });
    const grads = withGrads ? model.gradients(() => model.forward(x, { targets: y, mask }).loss!).grads : {};
    const cache = model.newCache();
    model.forward(x.slice([0, 0], [2, T - 1]) as tf.Tensor2D, { cache });
    const step = model.forward(x.slice([0, T - 1], [2, 1]) as tf.Tensor2D, { cache }).logits!;
    const cached = read(step);
    cache.dispose();
    return { logits: read(out.logits!), logProbs: read(out.logProbs!), grads: Object.fromEntries(Object.entries(grads).map(([n, g]) => [n, read(g)])), cached };
  });
}

/** The same weights in the heap and frozen; LoRA adapters (B not zero) on both. */
function pair(config: ModelConfig): { heap: CausalLM; frozen: CausalLM } {
  const values = valuesOf(createModel(config, { seed: 3 }));
  const heap = createModel(config, { values });
  const frozen = createModel(config, { values, freeze: true });
  for (const m of [heap, frozen]) {
    // Every projection: GPT's default, all of Llama's named.
    m.addLora({ rank: 2, alpha: 4, targets: config.family === 'llama' ? ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] : undefined });
    for (const [name, v] of Object.entries(m.params)) if (name.endsWith('.lora_b')) v.assign(tf.tensor(randomValues(v.size, 11), v.shape).mul(0.1));
  }
  return { heap, frozen };
}

for (const [name, config] of SHAPES) {
  test(`${name}: frozen weights give the heap path's logits and LoRA gradients`, { skip }, () => {
    assert.ok(nativeActive());
    const { heap, frozen } = pair(config);
    assert.equal(Object.keys(heap.frozen).length, 0);
    // Every matrix is frozen; only 1-D gains and biases and the adapters stay in the heap.
    assert.ok(Object.keys(frozen.frozen).includes('wte'));
    assert.deepEqual(Object.keys(frozen.params).filter((n) => frozen.params[n].rank === 2 && !n.includes('.lora_')), []);
    assert.equal(frozen.numParams(), heap.numParams());
    const [a, b] = [outputs(heap), outputs(frozen)];
    assert.ok(maxAbsDiff(b.logits, a.logits) < 1e-5, `logits differ by ${maxAbsDiff(b.logits, a.logits)}`);
    assert.ok(maxAbsDiff(b.logProbs, a.logProbs) < 1e-5);
    assert.ok(maxAbsDiff(b.cached, a.cached) < 1e-5, `cached logits differ by ${maxAbsDiff(b.cached, a.cached)}`);
    assert.deepEqual(Object.keys(b.grads).sort(), Object.keys(a.grads).sort());
    assert.ok(Object.keys(a.grads).some((n) => n.endsWith('.lora_a')));
    for (const n of Object.keys(a.grads)) {
      assert.ok(Math.max(...a.grads[n].map(Math.abs)) > 0, `${n}: a gradient that is not zero`);
      assert.ok(maxAbsDiff(b.grads[n], a.grads[n]) < 1e-5, `${n} gradient differs by ${maxAbsDiff(b.grads[n], a.grads[n])}`);
    }
    // Merging folds the adapters into new arrays: the merged frozen model matches the merged heap one.
    const [mh, mf] = [cloneModel(heap, { merge: true }), cloneModel(frozen, { merge: true })];
    assert.ok(Object.keys(mf.frozen).length > 0 && !mf.lora);
    assert.ok(maxAbsDiff(outputs(mf, false).logits, outputs(mh, false).logits) < 1e-5);
    for (const m of [heap, frozen, mh, mf]) m.dispose();
  });
}

test('a frozen model refuses to train every weight until thawed, and thawed trains as the heap model does', { skip }, () => {
  const { heap, frozen } = pair(SHAPES[1][1]);
  for (const m of [heap, frozen]) m.removeLora();
  assert.throws(() => frozen.trainableNames(), /frozen outside the heap and cannot train: thaw\(\) it first/);
  const thawed = cloneModel(frozen, { thaw: true });
  assert.equal(Object.keys(thawed.frozen).length, 0);
  const [a, b] = [outputs(heap), outputs(thawed)];
  assert.ok(a.grads.wte && maxAbsDiff(b.grads.wte, a.grads.wte) < 1e-5);
  for (const m of [heap, frozen, thawed]) m.dispose();
});

test('a frozen model round-trips a checkpoint bit for bit, and loads frozen or into the heap', { skip }, async () => {
  const { frozen } = pair(SHAPES[0][1]);
  const dir = join(mkdtempSync(join(tmpdir(), 'jl-frozen-')), 'model');
  try {
    await saveCheckpoint(dir, { model: frozen });
    for (const asFrozen of [true, false]) {
      const { model } = await loadCheckpoint(dir, { frozen: asFrozen });
      assert.equal(Object.keys(model.frozen).length > 0, asFrozen);
      assert.deepEqual(model.weightNames().sort(), frozen.weightNames().sort());
      for (const n of frozen.weightNames()) assert.deepEqual(model.weightValues(n), frozen.weightValues(n), n);
      model.dispose();
    }
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true });
    frozen.dispose();
  }
});

test('stories260K with frozen weights decodes the llama2.c reference greedily from BOS, after a checkpoint round trip', { skip }, async () => {
  const { config, tensors } = readLlama2c(readFileSync(join(MODELS, 'stories260K.bin')));
  const tokenizer = readLlama2cTokenizer(readFileSync(join(MODELS, 'tok512.bin')), config.vocabSize);
  const imported = modelFromTensors(config, tensors);
  assert.ok('wte' in imported.frozen, 'an import holds its weights frozen');
  const dir = join(mkdtempSync(join(tmpdir(), 'jl-frozen-')), 'model');
  try {
    await saveCheckpoint(dir, { model: imported, tokenizer });
    const { model } = await loadCheckpoint(dir, { frozen: true });
    assert.ok(Object.keys(model.frozen).length > 0);
    const tokens = generate(model, [1], { maxTokens: fixture.steps, temperature: 0, stop: [1, 2] })[0].tokens;
    assert.deepEqual(tokens, fixture.ids);
    model.dispose();
  } finally {
    rmSync(dirname(dir), { recursive: true, force: true });
    imported.dispose();
  }
});

/** The wasm backend's memory, which only grows. */
const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;

test('~210 MB of frozen weights do not grow the wasm heap; the same model in the heap does', { skip }, () => {
  // GPT-2's vocabulary and width, two layers: 52.6M float32 parameters.
  const config = gptConfig('tiny', { vocabSize: 50257, nEmbd: 768, nHead: 12, nLayer: 2, blockSize: 64 });
  const tensors = Object.fromEntries(createModelShapes(config).map(([name, size], i) => [name, randomValues(size, i + 1).map((v) => v * 0.02)]));
  const bytes = Object.values(tensors).reduce((n, t) => n + t.byteLength, 0);
  assert.ok(bytes > 200e6, `${bytes} bytes`);

  const [heap0, tensors0] = [heapBytes(), tf.memory().numBytes];
  const model = modelFromTensors(config, tensors);
  const tokens = generate(model, [1, 2, 3], { maxTokens: 4, temperature: 0 })[0].tokens;
  assert.equal(tokens.length, 4);
  const [heap1, tensors1] = [heapBytes(), tf.memory().numBytes];
  assert.ok(tensors1 - tensors0 < 1e6, `tensors in the heap grew by ${tensors1 - tensors0} bytes`);
  assert.ok(heap1 - heap0 < 50e6, `the heap grew by ${heap1 - heap0} bytes`);
  model.dispose();

  // The check can fail: the same weights as heap tensors take their size there.
  const inHeap = createModel(config, { values: tensors });
  assert.ok(tf.memory().numBytes - tensors0 >= bytes - 1e6);
  assert.ok(heapBytes() - heap0 >= bytes - 1e6);
  inHeap.dispose();
});

/** Names and sizes of a config's weights, read off a copy with a one-token vocabulary and context. */
function createModelShapes(config: ModelConfig): [string, number][] {
  const probe = createModel({ ...config, vocabSize: 1, blockSize: 1 }, { seed: 0 });
  const shapes = probe.weightNames().map((n): [string, number] => {
    const s = probe.shapeOf(n);
    if (n === 'wte') s[0] = config.vocabSize;
    if (n === 'wpe') s[0] = config.blockSize;
    return [n, s.reduce((a, b) => a * b, 1)];
  });
  probe.dispose();
  return shapes;
}
