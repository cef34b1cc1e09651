// Training throughput (tokens/s) of packages/ml against the same model in PyTorch, measured in the
// same run: `npx tsx bench/train_throughput.ts [--configs A,B] [--rounds 2] [--steps 5]`.
// Needs bench/setup.sh (python3-torch + libopenblas0-pthread). Each round measures both
// implementations on 1 and 2 threads; each figure's best round counts (the machine is shared,
// so noise only slows).
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

const { values } = parseArgs({ options: { configs: { type: 'string', default: 'A,B' }, rounds: { type: 'string', default: '2' }, steps: { type: 'string', default: '5' } } });
const names = values.configs!.split(',') as Name[];
const rounds = Number(values.rounds);
const steps = Number(values.steps);

interface Speed {
  /** Wall-clock tokens per second. */
  wall: number;
  /** Tokens per CPU-second of the whole process (all threads). */
  cpu: number;
}

const best = (a: Speed, b: Speed): Speed => ({ wall: Math.max(a.wall, b.wall), cpu: Math.max(a.cpu, b.cpu) });
const none: Speed = { wall: 0, cpu: 0 };

/** Speed of packages/ml training steps (gradients, clipping, AdamW) on `threads` threads. */
async function tfjsSpeed(name: Name, threads: number): Promise<Speed> {
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
  const cpu = process.cpuUsage();
  for (let i = 0; i < steps; i++) await step();
  const ms = (performance.now() - t) / steps;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / steps;
  await workers?.close();
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
  return { wall: (c.batch * c.ctx * 1000) / ms, cpu: (c.batch * c.ctx * 1000) / cpuMs };
}

function torchSpeed(name: Name, threads: number): Speed {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_gpt.py'), '--config', name, '--threads', String(threads), '--steps', String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_gpt.py failed (run bench/setup.sh first):\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  return { wall: out.tokens_per_s, cpu: out.tokens_per_cpu_s };
}

await initBackend();
const backend = backendInfo();

// Anchor check: PyTorch must use an optimised BLAS (Debian's falls back to the reference BLAS
// without libopenblas0-pthread, ~30× slower). Both sides' 1024³ float32 matmul on one thread.
function wasmMatmulGflops(): number {
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  tf.matMul(a, b).dispose();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    tf.matMul(a, b).dataSync();
    best = Math.min(best, performance.now() - t);
  }
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / best / 1e6;
}
const anchor = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_gpt.py'), '--matmul', '--threads', '1'], { encoding: 'utf8' });
if (anchor.status !== 0) throw new Error(`torch_gpt.py failed (run bench/setup.sh first):\n${anchor.stderr}`);
const matmul = { torch: JSON.parse(anchor.stdout).matmul_gflops as number, wasm: wasmMatmulGflops() };
console.log(`1024³ matmul, 1 thread: PyTorch ${matmul.torch.toFixed(1)} GFLOP/s, jielong (${backend}) ${matmul.wasm.toFixed(1)} GFLOP/s (${(matmul.wasm / matmul.torch).toFixed(2)}×)`);

console.log(`backend: ${backend}; load average ${loadavg()[0].toFixed(1)}; ${rounds} rounds × ${steps} steps, best round counts`);
const results: Record<string, { jielong1: Speed; jielong2: Speed; torch1: Speed; torch2: Speed; ratio2: number; ratio1: number; cpuRatio1: number }> = {};
const fmt = (s: Speed) => `${s.wall.toFixed(0)} tok/s (${s.cpu.toFixed(0)} per CPU-s)`;
for (const name of names) {
  let [one, two, torch1, torch2] = [none, none, none, none];
  for (let r = 0; r < rounds; r++) {
    one = best(one, await tfjsSpeed(name, 1));
    torch1 = best(torch1, torchSpeed(name, 1));
    two = best(two, await tfjsSpeed(name, 2));
    torch2 = best(torch2, torchSpeed(name, 2));
  }
  // The measure: both on 2 threads. Also 1 thread each, and per CPU-second (less load-sensitive).
  const ratio2 = two.wall / torch2.wall;
  const ratio1 = one.wall / torch1.wall;
  const cpuRatio1 = one.cpu / torch1.cpu;
  results[name] = { jielong1: one, jielong2: two, torch1, torch2, ratio2, ratio1, cpuRatio1 };
  console.log(`config ${name}: jielong 1 thread ${fmt(one)}, 2 threads ${fmt(two)}`);
  console.log(`          PyTorch 1 thread ${fmt(torch1)}, 2 threads ${fmt(torch2)}`);
  console.log(`          ratio 2 threads each ${ratio2.toFixed(2)}×; 1 thread each ${ratio1.toFixed(2)}× (per CPU-second ${cpuRatio1.toFixed(2)}×)`);
}
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`load average after the run: ${load} (2 cores)`);
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out/train_throughput.json'), JSON.stringify({ date: new Date().toISOString(), backend, load, matmul, results }, null, 2));
