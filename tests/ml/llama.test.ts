// The Llama family behind the CausalLM interface: the real stories260K model generates the
// reference's tokens with and without the KV cache; a tiny random Llama trains (full and LoRA),
// its scalar head learns a preference through the reward trainer, SFT with LoRA runs unchanged,
// checkpoints round-trip, and checkpoints from before model families still load as GPTs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  AdamW, createModel, generate, GPT, initBackend, Llama, llamaConfig, loadCheckpoint, modelFromTensors, mulberry32, pretrain, readLlama2c, ropeInverseFrequencies, saveCheckpoint,
  trainRewardModel, trainSft, trainStep, type CausalLM, type LlamaConfig, type Tokenizer,
} from '../../packages/ml/src/index.ts';
import { demonstrations, keywordPairs, randomAnswer, toyTokenizer } from './fixtures/rlhf.ts';
import { maxAbsDiff, onBackend, read } from './helpers.ts';

const MODELS = join(import.meta.dirname, '../../../shared/data/models');
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/stories260K-greedy.json'), 'utf8')) as { ids: number[]; steps: number };

const tiny = (over: Partial<LlamaConfig> = {}): LlamaConfig =>
  llamaConfig({ vocabSize: 48, blockSize: 16, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 16, hiddenSize: 40, ...over });

/** A batch that repeats a short pattern (step `stride`): easy to learn, so the loss must fall. */
function patternBatch(stride = 5): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const seq = Array.from({ length: 17 }, (_, i) => (i * stride) % 11);
  const rows = [0, 1, 2, 3].map((r) => seq.map((t) => (t + r) % 48));
  return { x: tf.tensor2d(rows.map((r) => r.slice(0, 16)), undefined, 'int32'), y: tf.tensor2d(rows.map((r) => r.slice(1)), undefined, 'int32') };
}

function trainLoss(model: CausalLM, steps: number, lr: number, stride = 5): { first: number; last: number } {
  const { x, y } = patternBatch(stride);
  const opt = new AdamW({ weightDecay: 0 });
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainStep(model, opt, () => model.forward(x, { targets: y }).loss!, { lr, gradClip: 1 }).loss);
  tf.dispose([x, y]);
  return { first: losses[0], last: losses.at(-1)! };
}

before(async () => {
  await initBackend('wasm');
});

test('stories260K imported through the library generates the reference tokens, with and without the KV cache', () => {
  const { config, tensors } = readLlama2c(readFileSync(join(MODELS, 'stories260K.bin')));
  const model = modelFromTensors(config, tensors);
  assert.ok(model instanceof Llama);
  assert.equal(model.numParams(), 260_032);
  const cached = generate(model, [1], { maxTokens: fixture.steps, temperature: 0, stop: [1, 2] })[0];
  const uncached = generate(model, [1], { maxTokens: fixture.steps, temperature: 0, stop: [1, 2], cache: false })[0];
  assert.deepEqual(cached.tokens, fixture.ids);
  assert.deepEqual(uncached.tokens, fixture.ids);
  model.dispose();
});

test('cached and uncached logits agree for untied heads, q/k/v biases, multi-query attention and llama3 rope scaling', () => {
  const config = tiny({
    nKvHead: 1, tiedEmbeddings: false, attentionBias: true,
    ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8 },
  });
  const model = createModel(config, { seed: 3 });
  // Random biases, so they matter.
  for (const [n, v] of Object.entries(model.params)) if (n.endsWith('.b')) v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', 7));
  const ids = [3, 9, 4, 17, 30, 2, 11, 8];
  const full = tf.tidy(() => read(model.forward(tf.tensor2d([ids], undefined, 'int32')).logits!));
  const cache = model.newCache();
  const stepwise: number[] = [];
  for (const t of ids) stepwise.push(...tf.tidy(() => read(model.forward(tf.tensor2d([[t]], undefined, 'int32'), { cache }).logits!)));
  cache.dispose();
  assert.ok(maxAbsDiff(stepwise, full) < 1e-4, `cache changes the logits by ${maxAbsDiff(stepwise, full)}`);
  assert.ok('lm_head.w' in model.params && 'h.0.attn.q.b' in model.params);
  assert.deepEqual(model.params['h.0.attn.k.w'].shape, [16, 4], 'one key/value head of size 4');
  model.dispose();
});

test('rope scaling: linear divides every frequency, llama3 keeps the fast ones and slows the slow ones', () => {
  const plain = ropeInverseFrequencies(64, 500000);
  const linear = ropeInverseFrequencies(64, 500000, { type: 'linear', factor: 4 });
  plain.forEach((f, j) => assert.ok(Math.abs(linear[j] - f / 4) < 1e-15));
  const l3 = ropeInverseFrequencies(64, 500000, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
  assert.equal(l3[0], plain[0]);
  assert.ok(Math.abs(l3[31] - plain[31] / 8) < 1e-18);
  assert.throws(() => tiny({ nKvHead: 3 }), /nHead \(4\) must be a multiple of nKvHead \(3\)/);
});

test('gradients on the native kernels (wasm, fused attention) match the composite ones (cpu)', async () => {
  const grads = () => {
    const model = createModel(tiny(), { seed: 5 });
    const out = tf.tidy(() => {
      const { x, y } = patternBatch();
      const { loss, grads } = model.gradients(() => model.forward(x, { targets: y }).loss!);
      return { loss: loss.dataSync()[0], q: read(grads['h.1.attn.q.w']), k: read(grads['h.0.attn.k.w']), gate: read(grads['h.0.mlp.gate.w']) };
    });
    model.dispose();
    return out;
  };
  const wasm = await onBackend('wasm', grads);
  const cpu = await onBackend('cpu', grads);
  await initBackend('wasm');
  assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-4, `${wasm.loss} vs ${cpu.loss}`);
  for (const k of ['q', 'k', 'gate'] as const) assert.ok(maxAbsDiff(wasm[k], cpu[k]) < 1e-4, `${k}: ${maxAbsDiff(wasm[k], cpu[k])}`);
});

test('a tiny Llama trains: full fine-tuning, then LoRA on q and v, both lower the loss; LoRA leaves the base weights alone', () => {
  const full = createModel(tiny(), { seed: 1 });
  const f = trainLoss(full, 40, 1e-2);
  assert.ok(f.last < f.first * 0.3, `full: ${f.first} → ${f.last}`);
  full.dispose();

  // LoRA adapts a trained base (a random one has no useful embedding or LM head to steer).
  const model = createModel(tiny(), { seed: 1 });
  trainLoss(model, 40, 1e-2, 3);
  const baseQ = read(model.params['h.0.attn.q.w']);
  model.addLora({ rank: 4, alpha: 16 });
  assert.deepEqual(model.lora?.targets, ['q', 'v']);
  assert.deepEqual(model.trainableNames().sort(), ['h.0.attn.q', 'h.0.attn.v', 'h.1.attn.q', 'h.1.attn.v'].flatMap((n) => [`${n}.lora_a`, `${n}.lora_b`]).sort());
  const l = trainLoss(model, 60, 2e-2);
  assert.ok(l.last < l.first * 0.5, `LoRA: ${l.first} → ${l.last}`);
  assert.deepEqual(read(model.params['h.0.attn.q.w']), baseQ);
  // Merging folds the adapters in without changing what the model computes.
  const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32');
  const before = tf.tidy(() => read(model.forward(ids).logits!));
  model.mergeLora();
  assert.ok(maxAbsDiff(tf.tidy(() => read(model.forward(ids).logits!)), before) < 1e-4);
  assert.ok(!Object.keys(model.params).some((n) => n.includes('lora')));
  assert.throws(() => model.addLora({ rank: 2, alpha: 4, targets: ['q', 'wq'] }), /LoRA targets must be some of q, k, v, o, gate, up, down/);
  ids.dispose();
  model.dispose();
});

test('the trainers take a Llama unchanged: SFT with LoRA lowers the held-out loss, the reward head learns the preference', async () => {
  const tok: Tokenizer = toyTokenizer();
  const config = tiny({ vocabSize: tok.vocabSize, blockSize: 32, nEmbd: 32, hiddenSize: 64 });
  // A base that knows the words (pre-trained on lines of them), as a real base would.
  const rand = mulberry32(99);
  const { model: base } = await pretrain({
    corpus: Array.from({ length: 300 }, () => randomAnswer(rand)).join('\n'),
    tokenizer: tok,
    model: createModel(config, { seed: 2 }),
    config: { steps: 60, batchSize: 16, lr: 1e-2, minLr: 1e-3, warmupSteps: 5, evalEvery: 60, evalBatches: 1, seed: 1 },
  });
  assert.ok(base instanceof Llama);
  const sft = await trainSft({
    model: base,
    tokenizer: tok,
    data: demonstrations(80, 2),
    config: { lora: { rank: 4, alpha: 16 }, epochs: 5, batchSize: 16, lr: 1e-2, warmupSteps: 2, evalEvery: 100, valFraction: 0.2, seed: 3 },
  });
  assert.ok(sft.bestValLoss < sft.baseValLoss * 0.7, `SFT: ${sft.baseValLoss} → ${sft.bestValLoss}`);
  assert.ok(sft.model instanceof Llama);

  const reward = await trainRewardModel({
    model: createModel(config, { seed: 4 }),
    tokenizer: tok,
    pairs: keywordPairs(100, 8),
    config: { epochs: 3, batchSize: 16, lr: 1e-2, warmupSteps: 3, evalEvery: 100, valFraction: 0.2, seed: 5 },
  });
  assert.ok(reward.model.hasHead);
  assert.ok(reward.final.accuracy >= 0.8, `held-out accuracy ${reward.final.accuracy}`);
  sft.model.dispose();
  reward.model.dispose();
});

test('a Llama checkpoint round-trips with LoRA and head; a checkpoint without model.family loads as a GPT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-llama-'));
  try {
    const model = createModel(tiny({ tiedEmbeddings: false, attentionBias: true }), { seed: 9 });
    model.addLora({ rank: 2, alpha: 4, targets: ['gate', 'down'] });
    model.attachHead();
    await saveCheckpoint(join(dir, 'llama'), { model });
    const config = JSON.parse(readFileSync(join(dir, 'llama/config.json'), 'utf8'));
    assert.equal(config.model.family, 'llama');
    const back = await loadCheckpoint(join(dir, 'llama'));
    assert.ok(back.model instanceof Llama);
    assert.deepEqual(back.model.config, model.config);
    assert.deepEqual(back.model.lora, model.lora);
    assert.deepEqual(Object.keys(back.model.params).sort(), Object.keys(model.params).sort());
    for (const [n, v] of Object.entries(model.params)) assert.deepEqual(read(back.model.params[n]), read(v), n);
    model.dispose();
    back.model.dispose();

    // Before model families, config.json had no family: such a folder is a GPT.
    const gpt = new GPT({ vocabSize: 40, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0 }, { seed: 1 });
    await saveCheckpoint(join(dir, 'old'), { model: gpt });
    const old = JSON.parse(readFileSync(join(dir, 'old/config.json'), 'utf8'));
    delete old.model.family;
    writeFileSync(join(dir, 'old/config.json'), JSON.stringify(old));
    const loaded = await loadCheckpoint(join(dir, 'old'));
    assert.ok(loaded.model instanceof GPT);
    assert.deepEqual(read(loaded.model.params.wte), read(gpt.params.wte));
    gpt.dispose();
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("LoRA targets take PEFT's module names: chosen projections only, per family; one the family lacks is refused naming lora.targets", async () => {
  await onBackend('cpu', async () => {
    const adapted = (m: CausalLM) => Object.keys(m.params).filter((n) => n.endsWith('.lora_a')).map((n) => n.slice(0, -'.lora_a'.length)).sort();
    const llama = createModel(tiny(), { seed: 1 });
    llama.addLora({ rank: 2, alpha: 4, targets: ['k_proj', 'down_proj'] });
    assert.deepEqual(adapted(llama), ['h.0.attn.k', 'h.0.mlp.down', 'h.1.attn.k', 'h.1.mlp.down']);
    assert.deepEqual(llama.lora?.targets, ['k', 'down'], 'recorded by the short names older checkpoints hold');
    llama.dispose();

    const gpt = createModel({ family: 'gpt', vocabSize: 48, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, { seed: 1 });
    gpt.addLora({ rank: 2, alpha: 4, targets: ['c_proj'] });
    assert.deepEqual(adapted(gpt), ['h.0.attn.c_proj', 'h.0.mlp.c_proj'], "c_proj names both projections, as in PEFT");
    gpt.removeLora();
    const tok = toyTokenizer();
    await assert.rejects(
      trainSft({ model: gpt, tokenizer: tok, data: demonstrations(8, 2), config: { lora: { rank: 2, alpha: 4, targets: ['q_proj'] }, epochs: 1, batchSize: 4 } }),
      (e: Error & { code?: string; params?: Record<string, unknown> }) => e.code === 'invalid-config' && e.params?.field === 'lora.targets' && /q_proj/.test(e.message) && /c_attn/.test(e.message),
    );
    gpt.dispose();
  });
});
