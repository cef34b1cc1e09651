// Training throughput (tokens/s) of packages/ml against the same model in PyTorch, measured in the
// same run: `npx tsx bench/train_throughput.ts [--configs A,B] [--rounds 2] [--steps 5]`.
// Needs bench/setup.sh (python3-torch + libopenblas0-pthread). Rounds alternate the two
// implementations; each side's best round counts (the machine is shared, so noise only slows).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { AdamW, GPT, GradientWorkers, applyGradients, backendInfo, initBackend, trainStep, type LmBatch } from '../packages/ml/src/index.ts';

const CONFIGS = {
  A: { vocab: 2048, ctx: 128, d: 128, layers: 4, heads: 4, batch: 16 },
  B: { vocab: 4096, ctx: 256, d: 256, layers: 6, heads: 8, batch: 8 },
} as const;
type Name = keyof typeof CONFIGS;

const { values } = parseArgs({ options: { configs: { type: 'string', default: 'A,B' }, rounds: { type: 'string', default: '2' }, steps: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' } } });
const names = values.configs!.split(',') as Name[];
const rounds = Number(values.rounds);
const steps = Number(values.steps);

/** Tokens/s of packages/ml training steps (gradients, clipping, AdamW) on `threads` threads. */
async function tfjsTokensPerSecond(name: Name, threads: number): Promise<number> {
  const c = CONFIGS[name];
  const model = new GPT({ vocabSize: c.vocab, blockSize: c.ctx, nLayer: c.layers, nHead: c.heads, nEmbd: c.d, dropout: 0 }, { seed: 1 });
  const optimizer = new AdamW({ beta1: 0.9, beta2: 0.99, weightDecay: 0.1 });
  const rand = () => Math.floor(Math.random() * c.vocab);
  const batch: LmBatch = { x: Int32Array.from({ length: c.batch * c.ctx }, rand), y: Int32Array.from({ length: c.batch * c.ctx }, rand), rows: c.batch, T: c.ctx };
  const x = tf.tensor2d(batch.x, [c.batch, c.ctx], 'int32');
  const y = tf.tensor2d(batch.y, [c.batch, c.ctx], 'int32');
  const workers = threads > 1 ? await GradientWorkers.start(model, threads) : null;
  const step = async () => {
    if (!workers) return trainStep(model, optimizer, () => model.forward(x, { targets: y, training: true }).loss!, { lr: 1e-3, gradClip: 1 });
    const g = await workers.gradients(model, batch, { training: true, seed: 0 });
    applyGradients(model, optimizer, g.loss, g.grads, { lr: 1e-3, gradClip: 1 });
    tf.dispose(Object.values(g.grads));
  };
  for (let i = 0; i < 2; i++) await step();
  const t = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const ms = (performance.now() - t) / steps;
  await workers?.close();
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return (c.batch * c.ctx * 1000) / ms;
}

function torchTokensPerSecond(name: Name): number {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_gpt.py'), '--config', name, '--threads', values.threads!, '--steps', String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_gpt.py failed (run bench/setup.sh first):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!).tokens_per_s;
}

await initBackend();
const backend = backendInfo();
console.log(`backend: ${backend}; PyTorch threads: ${values.threads}; load average ${loadavg()[0].toFixed(1)}; ${rounds} rounds × ${steps} steps, best round counts`);
const results: Record<string, { jielong1: number; jielong2: number; torch: number; ratio: number }> = {};
for (const name of names) {
  let [one, two, torch] = [0, 0, 0];
  for (let r = 0; r < rounds; r++) {
    one = Math.max(one, await tfjsTokensPerSecond(name, 1));
    two = Math.max(two, await tfjsTokensPerSecond(name, 2));
    torch = Math.max(torch, torchTokensPerSecond(name));
  }
  const ratio = Math.max(one, two) / torch;
  results[name] = { jielong1: one, jielong2: two, torch, ratio };
  console.log(`config ${name}: jielong ${one.toFixed(0)} tok/s (1 thread), ${two.toFixed(0)} tok/s (2 threads); PyTorch ${torch.toFixed(0)} tok/s; ratio ${ratio.toFixed(2)}×`);
}
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average after the run: ${load} (2 cores)`);
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out/train_throughput.json'), JSON.stringify({ date: new Date().toISOString(), backend, load, results }, null, 2));
