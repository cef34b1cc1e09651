// Per-kernel time of one training step (forward, backward, clipping, AdamW) of a throughput config:
// `npx tsx bench/profile_step.ts [--config A]`. Lists kernels by total milliseconds; CPU time per step
// is less disturbed by other load than wall-clock time.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { AdamW, GPT, backendInfo, initBackend, trainStep } from '../packages/ml/src/index.ts';

const CONFIGS = {
  A: { vocab: 2048, ctx: 128, d: 128, layers: 4, heads: 4, batch: 16 },
  B: { vocab: 4096, ctx: 256, d: 256, layers: 6, heads: 8, batch: 8 },
} as const;
const { values } = parseArgs({ options: { config: { type: 'string', default: 'A' }, top: { type: 'string', default: '25' } } });
const c = CONFIGS[values.config as keyof typeof CONFIGS];
await initBackend();
console.log(backendInfo());
const model = new GPT({ vocabSize: c.vocab, blockSize: c.ctx, nLayer: c.layers, nHead: c.heads, nEmbd: c.d, dropout: 0 }, { seed: 1 });
const optimizer = new AdamW();
const rand = () => Math.floor(Math.random() * c.vocab);
const x = tf.tensor2d(Int32Array.from({ length: c.batch * c.ctx }, rand), [c.batch, c.ctx], 'int32');
const y = tf.tensor2d(Int32Array.from({ length: c.batch * c.ctx }, rand), [c.batch, c.ctx], 'int32');
const step = () => trainStep(model, optimizer, () => model.forward(x, { targets: y, training: true }).loss!, { lr: 1e-3, gradClip: 1 });
for (let i = 0; i < 3; i++) step();
const t = performance.now();
const cpu0 = process.cpuUsage();
for (let i = 0; i < 5; i++) step();
const stepMs = (performance.now() - t) / 5;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000 / 5;
const info = await tf.profile(() => { step(); });
const byKernel = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += k.kernelTimeMs as number;
  e.n++;
  total += k.kernelTimeMs as number;
  byKernel.set(k.name, e);
}
console.log(`step ${stepMs.toFixed(1)} ms wall, ${cpuMs.toFixed(1)} ms CPU (${((c.batch * c.ctx * 1000) / cpuMs).toFixed(0)} tok/CPU-s); ${info.kernels.length} kernels, ${total.toFixed(1)} ms inside them`);
for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top)))
  console.log(`${name.padEnd(24)} ${e.ms.toFixed(1).padStart(7)} ms ${String(e.n).padStart(5)}×`);
