// Frozen weights outside the wasm heap against the same weights in it, same process, same run: KV-cache
// greedy generation (batch 1) and a LoRA SFT step (rank 8, 1 × 128 tokens) on a GPT-2-small-shaped model
// with random weights. The heap path is the anchor; the ratio says what holding the base outside the
// heap costs or saves in speed.   npx tsx bench/frozen.ts [--rounds 3] [--tokens 16] [--threads 2]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { AdamW, backendInfo, clipScale, createModel, generate, globalNorm, gptConfig, initBackend, sftLoss, type CausalLM } from '../packages/ml/src/index.ts';
import { native } from '../packages/ml/src/kernels/native.ts';

const { values: a } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, tokens: { type: 'string', default: '16' }, threads: { type: 'string', default: '2' } } });
await initBackend('wasm');
native?.setThreads(Number(a.threads));

const config = gptConfig('tiny', { vocabSize: 50257, nEmbd: 768, nHead: 12, nLayer: 12, blockSize: 1024 });
const seeded = createModel(config, { seed: 1 });
const values = Object.fromEntries(seeded.weightNames().map((n) => [n, Float32Array.from(seeded.weightValues(n))]));
seeded.dispose();
const models: Record<'heap' | 'frozen', CausalLM> = { heap: createModel(config, { values }), frozen: createModel(config, { values, freeze: true }) };
for (const m of Object.values(models)) m.addLora({ rank: 8, alpha: 16 });

function genSpeed(model: CausalLM): number {
  const prompt = Array.from({ length: 16 }, (_, i) => (i * 37) % config.vocabSize);
  generate(model, prompt, { maxTokens: 2, temperature: 0 });
  const t = performance.now();
  const n = generate(model, prompt, { maxTokens: Number(a.tokens), temperature: 0 })[0].tokens.length;
  return (n * 1000) / (performance.now() - t);
}

function loraSpeed(model: CausalLM): number {
  const T = 128;
  const ids = () => tf.tensor2d(Int32Array.from({ length: T }, (_, i) => (i * 7919) % config.vocabSize), [1, T], 'int32');
  const batch = { x: ids(), y: ids(), mask: tf.ones([1, T]) as tf.Tensor2D };
  const opt = new AdamW({ weightDecay: 0 });
  const step = () =>
    tf.tidy(() => {
      const { loss, grads } = model.gradients(() => sftLoss(model, batch));
      loss.dataSync();
      opt.apply(model.params, grads, 1e-4, clipScale(globalNorm(grads), 1));
    });
  step();
  const t = performance.now();
  step();
  const speed = (T * 1000) / (performance.now() - t);
  opt.dispose();
  tf.dispose([batch.x, batch.y, batch.mask]);
  return speed;
}

console.log(`backend: ${backendInfo()}, ${a.threads} OpenBLAS threads; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const best = { heap: { gen: 0, lora: 0 }, frozen: { gen: 0, lora: 0 } };
for (let r = 0; r < Number(a.rounds); r++) {
  for (const side of ['heap', 'frozen'] as const) {
    best[side].gen = Math.max(best[side].gen, genSpeed(models[side]));
    best[side].lora = Math.max(best[side].lora, loraSpeed(models[side]));
  }
}
for (const [label, key] of [['generation, batch 1', 'gen'], ['LoRA SFT step, 1 × 128', 'lora']] as const) {
  console.log(`GPT-2 small ${label}: frozen ${best.frozen[key].toFixed(1)} tok/s, heap ${best.heap[key].toFixed(1)} tok/s, ratio ${(best.frozen[key] / best.heap[key]).toFixed(2)}×`);
}
console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
