// Imported models against PyTorch, same run: LoRA SFT tokens/s and KV-cache greedy generation tokens/s
// (batch 1 and 8), with each side's peak memory, on a GPT-2-small-shaped model (124M, random weights)
// and on stories260K; `--models gpt2-1.2b` adds a 1.2B GPT-2-shaped model whose 4.85 GB of float32
// weights pass the 4 GB wasm heap (held frozen outside it).
//   npx tsx bench/imported.ts [--models gpt2,stories,gpt2-1.2b] [--rounds 2] [--steps 3] [--threads 2] [--full] [--trainer]
// Needs bench/setup.sh (python3-torch + libopenblas0-pthread). The GPT-2 folder is written once by
// bench/torch_llm.py into bench/out/gpt2-small-hf and imported with Jielong's importer into
// bench/out/gpt2-small (stories260K from its llama2.c file into bench/out/stories260K). Every measure
// runs in a fresh process on each side, so peak RSS (VmHWM; ru_maxrss for PyTorch) is that measure's
// alone; for Jielong also the wasm heap's size at the end (it only grows, so it is the heap's peak).
// Rounds alternate the two sides; each figure's best round counts (the machine is shared: noise only
// slows). `--full` adds one full fine-tune (every weight trained) on Jielong's side, for memory;
// `--trainer` runs Jielong's SFT trainer itself (trainSft, LoRA rank 8, batch 8, one epoch of 16
// demonstrations of ~200 tokens, with its validation passes) on the imported model: on GPT-2 small a
// batch of 8 such rows does not fit one pass, so it trains in passes.
// The child mode (`--child import|sft|gen …`) is this script's own per-measure process.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  AdamW, backendInfo, clipScale, generate, globalNorm, importModel, initBackend, loadCheckpoint, modelFromTensors, saveCheckpoint, sftLoss, trainSft,
} from '../packages/ml/src/index.ts';
import { native } from '../packages/ml/src/kernels/native.ts';

const OUT = join(import.meta.dirname, 'out');
const SHARED = join(import.meta.dirname, '../../shared/data/models');

const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: 'gpt2,stories' },
    rounds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '32' },
    full: { type: 'boolean', default: false },
    trainer: { type: 'boolean', default: false },
    child: { type: 'string' },
    model: { type: 'string' },
    from: { type: 'string' },
    tokenizer: { type: 'string' },
    batch: { type: 'string', default: '1' },
    ctx: { type: 'string', default: '256' },
  },
});
const threads = Number(a.threads);

/** The models: Jielong's imported folder, how to import it, PyTorch's source, and the SFT batch. */
const MODELS = {
  gpt2: { dir: join(OUT, 'gpt2-small'), from: join(OUT, 'gpt2-small-hf'), tokenizer: undefined, torch: `gpt2:${join(OUT, 'gpt2-small-hf')}`, sft: { batch: 2, ctx: 256 } },
  // 1.21B parameters, 4.85 GB of float32 weights: more than the whole wasm heap, so it runs only
  // because frozen weights live outside it. 128-token rows: LoRA's activations stay in the heap.
  'gpt2-1.2b': {
    dir: join(OUT, 'gpt2-1.2b'),
    from: join(OUT, 'gpt2-1.2b-hf'),
    tokenizer: undefined,
    torch: `gpt2:${join(OUT, 'gpt2-1.2b-hf')}`,
    sft: { batch: 1, ctx: 128 },
    make: ['--layers', '40', '--embd', '1536', '--heads', '16'],
  },
  stories: {
    dir: join(OUT, 'stories260K'),
    from: join(SHARED, 'stories260K.bin'),
    tokenizer: join(SHARED, 'tok512.bin'),
    torch: `llama2c:${join(SHARED, 'stories260K.bin')}`,
    sft: { batch: 8, ctx: 256 },
  },
} as const;
type Name = keyof typeof MODELS;

interface Measured {
  tokensPerSecond: number;
  peakRssMb: number;
  heapMb?: number;
  [k: string]: unknown;
}

// ── child: one measure of Jielong's, in its own process ─────────────────────────────────────────

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Bytes of the wasm heap now: it never shrinks, so this is its high-water mark. */
function heapMb(): number {
  const be = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return be.wasm ? be.wasm.HEAPU8.buffer.byteLength / 2 ** 20 : NaN;
}

async function child(kind: string): Promise<Measured> {
  await initBackend();
  native?.setThreads(threads);
  if (kind === 'import') {
    const t = performance.now();
    const imported = await importModel({ from: a.from!, tokenizer: a.tokenizer });
    const model = modelFromTensors(imported.config, imported.tensors);
    await saveCheckpoint(a.model!, { model, tokenizer: imported.tokenizer, provenance: imported.provenance });
    return { tokensPerSecond: NaN, seconds: (performance.now() - t) / 1000, parameters: model.numParams(), peakRssMb: peakRssMb(), heapMb: heapMb() };
  }
  // Frozen outside the heap where nothing trains them (sampling, LoRA's base), as the worker loads.
  const { model, tokenizer } = await loadCheckpoint(a.model!, { frozen: kind !== 'full' });
  if (kind === 'trainer') {
    const words = ['once', 'upon', 'a', 'time', 'there', 'was', 'a', 'little', 'cat', 'who', 'liked', 'to', 'play'];
    const data = Array.from({ length: 16 }, (_, i) => ({ prompt: `tell story ${i}`, answer: Array.from({ length: 60 }, (_, j) => words[(i + j * 7) % words.length]).join(' ') }));
    const t = performance.now();
    const res = await trainSft({ model, tokenizer: tokenizer!, data, config: { lora: { rank: 8, alpha: 16 }, batchSize: 8, epochs: 1, valFraction: 0.125, evalEvery: 100 } });
    return { tokensPerSecond: NaN, seconds: (performance.now() - t) / 1000, steps: res.steps, baseValLoss: res.baseValLoss, bestValLoss: res.bestValLoss, peakRssMb: peakRssMb(), heapMb: heapMb() };
  }
  const V = model.config.vocabSize;
  const B = Number(a.batch);
  if (kind === 'gen') {
    const prompt = Array.from({ length: 16 }, (_, i) => (i * 37) % V);
    const maxTokens = Number(a.tokens);
    generate(model, prompt, { maxTokens: 2, temperature: 0, n: B }); // warm-up
    const t = performance.now();
    const out = generate(model, prompt, { maxTokens, temperature: 0, n: B });
    const produced = out.reduce((s, o) => s + o.tokens.length, 0);
    return { tokensPerSecond: (produced * 1000) / (performance.now() - t), peakRssMb: peakRssMb(), heapMb: heapMb() };
  }
  // sft / full: trainEpochs' step (gradients, clipping, AdamW) on a batch of random ids, every target
  // counted; LoRA rank 8 (Jielong's default targets) or, for `full`, every weight.
  if (kind === 'sft') model.addLora({ rank: 8, alpha: 16 });
  const T = Number(a.ctx);
  const optimizer = new AdamW({ weightDecay: 0 });
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % V;
  const ids = (n: number) => Int32Array.from({ length: n }, rand);
  const batch = tf.tidy(() => ({ x: tf.keep(tf.tensor2d(ids(B * T), [B, T], 'int32')), y: tf.keep(tf.tensor2d(ids(B * T), [B, T], 'int32')), mask: tf.keep(tf.ones([B, T]) as tf.Tensor2D) }));
  const step = (i: number) =>
    tf.tidy(() => {
      const { loss, grads } = model.gradients(() => sftLoss(model, batch, { training: true, seed: i }));
      loss.dataSync();
      optimizer.apply(model.params, grads, 1e-4, clipScale(globalNorm(grads), 1));
    });
  step(0);
  const steps = Number(a.steps);
  const t = performance.now();
  for (let i = 1; i <= steps; i++) step(i);
  return { tokensPerSecond: (B * T * steps * 1000) / (performance.now() - t), peakRssMb: peakRssMb(), heapMb: heapMb(), trainable: model.trainable().reduce((n, v) => n + v.size, 0) };
}

if (a.child) {
  const r = await child(a.child);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

// ── parent: both sides, alternating ─────────────────────────────────────────────────────────────

function lastJson(out: { status: number | null; stdout: string; stderr: string }, what: string): Measured {
  if (out.status !== 0) throw new Error(`${what} failed:\n${out.stderr.slice(-3000)}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Measured;
}

function jielong(kind: string, args: string[]): Measured {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', kind, '--threads', String(threads), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return lastJson(r, `jielong ${kind} ${args.join(' ')}`);
}

function pytorch(args: string[]): Measured {
  const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_llm.py'), 'bench', '--threads', String(threads), ...args], { encoding: 'utf8' });
  const j = lastJson(r, `torch_llm.py ${args.join(' ')} (run bench/setup.sh first)`);
  return { tokensPerSecond: j.tokens_per_s as number, peakRssMb: j.peak_rss_mb as number };
}

function prepare(name: Name): Measured | null {
  const m = MODELS[name];
  if (name !== 'stories' && !existsSync(join(m.from, 'model.safetensors'))) {
    const shape = 'make' in m ? m.make : [];
    const r = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'torch_llm.py'), 'make-gpt2', m.from, ...shape], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`torch_llm.py make-gpt2 failed:\n${r.stderr}`);
  }
  if (existsSync(join(m.dir, 'manifest.json'))) return null;
  return jielong('import', ['--from', m.from, '--model', m.dir, ...(m.tokenizer ? ['--tokenizer', m.tokenizer] : [])]);
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

await initBackend();
const report: Record<string, unknown> = { date: new Date().toISOString(), backend: backendInfo(), threads, loadStart: loadavg() };
console.log(`backend: ${backendInfo()}; ${threads} threads each side (Jielong: OpenBLAS threads); load average at start ${load()}`);
const names = a.models!.split(',') as Name[];
for (const name of names) {
  const m = MODELS[name];
  const imported = prepare(name);
  if (imported) {
    console.log(`${name}: imported ${fmt(imported.parameters as number)} parameters in ${(imported.seconds as number).toFixed(1)} s, peak RSS ${fmt(imported.peakRssMb)} MB, wasm heap ${fmt(imported.heapMb!)} MB`);
    report[`${name} import`] = imported;
  }
  const measures: [string, string[], string[]][] = [
    [`${name} LoRA SFT (batch ${m.sft.batch} × ${m.sft.ctx})`, ['sft', '--model', m.dir, '--batch', String(m.sft.batch), '--ctx', String(m.sft.ctx), '--steps', a.steps!], ['--model', m.torch, '--measure', 'sft', '--batch', String(m.sft.batch), '--ctx', String(m.sft.ctx), '--steps', a.steps!]],
    ...[1, 8].map((b): [string, string[], string[]] => [`${name} generation, batch ${b}`, ['gen', '--model', m.dir, '--batch', String(b), '--tokens', a.tokens!], ['--model', m.torch, '--measure', 'gen', '--batch', String(b), '--tokens', a.tokens!]]),
  ];
  for (const [label, jArgs, pArgs] of measures) {
    const best = { j: null as Measured | null, p: null as Measured | null };
    for (let r = 0; r < Number(a.rounds); r++) {
      const j = jielong(jArgs[0], jArgs.slice(1));
      const p = pytorch(pArgs);
      if (!best.j || j.tokensPerSecond > best.j.tokensPerSecond) best.j = j;
      if (!best.p || p.tokensPerSecond > best.p.tokensPerSecond) best.p = p;
    }
    const { j, p } = best as { j: Measured; p: Measured };
    console.log(
      `${label}: jielong ${fmt(j.tokensPerSecond)} tok/s, PyTorch ${fmt(p.tokensPerSecond)} tok/s, ratio ${(j.tokensPerSecond / p.tokensPerSecond).toFixed(2)}× ` +
        `(peak RSS jielong ${fmt(j.peakRssMb)} MB with wasm heap ${fmt(j.heapMb!)} MB, PyTorch ${fmt(p.peakRssMb)} MB)`,
    );
    report[label] = { jielong: j, pytorch: p };
  }
  if (a.trainer) {
    const r = jielong('trainer', ['--model', m.dir]);
    console.log(`${name} trainSft (LoRA, 14 demonstrations, batch 8, 1 epoch): ${r.steps} steps in ${(r.seconds as number).toFixed(1)} s, validation loss ${(r.baseValLoss as number).toFixed(3)} → ${(r.bestValLoss as number).toFixed(3)}, peak RSS ${fmt(r.peakRssMb)} MB, wasm heap ${fmt(r.heapMb!)} MB`);
    report[`${name} trainSft`] = r;
  }
  if (a.full) {
    const f = jielong('full', ['--model', m.dir, '--batch', '1', '--ctx', String(m.sft.ctx), '--steps', '1']);
    console.log(`${name} full fine-tune (batch 1 × ${m.sft.ctx}, jielong only): ${fmt(f.tokensPerSecond)} tok/s, peak RSS ${fmt(f.peakRssMb)} MB, wasm heap ${fmt(f.heapMb!)} MB`);
    report[`${name} full fine-tune`] = f;
  }
}
report.loadEnd = loadavg();
console.log(`load average at end ${load()}`);
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'imported.json'), JSON.stringify(report, null, 2));
