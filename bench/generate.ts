// Generation against PyTorch, same run: greedy new tokens per second with the KV cache, per number of
// answers per call (one batch), and time to first token for a long prompt, on config A's model, on
// stories260K and on a GPT-2-small-shaped model (124M).
//   npx tsx bench/generate.ts [--models A,stories,gpt2] [--batches 1,8] [--prompt 16] [--tokens 96]
//                             [--ttft 512 (0: none)] [--threads 1] [--rounds 3]
// Prints per model and batch size `generation batch N: X tok/s, PyTorch Y tok/s, ratio R×` and
// `time to first token (P-token prompt): X ms, PyTorch Y ms, ratio R×` (PyTorch's time over ours).
// Tokens per CPU-second of each process are printed beside: less disturbed when others load the machine.
// PyTorch: bench/torch_gpt.py --generate for config A (its GPT, random weights), bench/torch_llm.py for
// the imported models (it reads their files itself), each a plain loop concatenating cached keys and
// values per layer, in a fresh process per measure. Rounds alternate the sides; each side's best round
// counts (the machine is shared: noise only slows). Config A's model is random (speed does not depend
// on the weights); the imported models are prepared as bench/imported.ts does (bench/setup.sh first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GPT, backendInfo, generate, importModel, initBackend, loadCheckpoint, modelFromTensors, saveCheckpoint, type CausalLM } from '../packages/ml/src/index.ts';
import { native } from '../packages/ml/src/kernels/native.ts';

const OUT = join(import.meta.dirname, 'out');
const SHARED = join(import.meta.dirname, '../../shared/data/models');
const { values: a } = parseArgs({
  options: {
    models: { type: 'string', default: 'A,stories,gpt2' },
    batches: { type: 'string', default: '1,8' },
    prompt: { type: 'string', default: '16' },
    tokens: { type: 'string', default: '96' },
    ttft: { type: 'string', default: '512' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
  },
});
const threads = Number(a.threads);
const promptLen = Number(a.prompt);
const maxTokens = Number(a.tokens);
const ttftLen = Number(a.ttft);

/** The PyTorch command of each model (after `python3`), and how Jielong gets the same model. */
const MODELS: Record<string, { torch: (measure: 'gen' | 'ttft', args: string[]) => string[]; load: () => Promise<CausalLM> }> = {
  A: {
    torch: (_, args) => [join(import.meta.dirname, 'torch_gpt.py'), '--config', 'A', '--generate', '--threads', String(threads), ...args],
    load: async () => new GPT({ vocabSize: 2048, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 }, { seed: 1 }),
  },
  stories: {
    torch: (measure, args) => [join(import.meta.dirname, 'torch_llm.py'), 'bench', '--model', `llama2c:${join(SHARED, 'stories260K.bin')}`, '--threads', String(threads), '--measure', measure, ...args],
    load: () => imported(join(OUT, 'stories260K'), join(SHARED, 'stories260K.bin'), join(SHARED, 'tok512.bin')),
  },
  gpt2: {
    torch: (measure, args) => [join(import.meta.dirname, 'torch_llm.py'), 'bench', '--model', `gpt2:${join(OUT, 'gpt2-small-hf')}`, '--threads', String(threads), '--measure', measure, ...args],
    load: async () => {
      const hf = join(OUT, 'gpt2-small-hf');
      if (!existsSync(join(hf, 'model.safetensors'))) python([join(import.meta.dirname, 'torch_llm.py'), 'make-gpt2', hf]);
      return imported(join(OUT, 'gpt2-small'), hf);
    },
  },
};

/** The imported model's checkpoint, importing it first when bench/imported.ts has not. */
async function imported(dir: string, from: string, tokenizer?: string): Promise<CausalLM> {
  if (!existsSync(join(dir, 'manifest.json'))) {
    const m = await importModel({ from, tokenizer });
    const model = modelFromTensors(m.config, m.tensors);
    await saveCheckpoint(dir, { model, tokenizer: m.tokenizer, provenance: m.provenance });
    model.dispose();
  }
  return (await loadCheckpoint(dir)).model;
}

function python(args: string[]): Record<string, number> {
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 ${args.join(' ')} failed (run bench/setup.sh first):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const promptOf = (len: number, V: number) => Array.from({ length: len }, (_, i) => (i * 37) % V);

/** New tokens of all answers per second and per CPU-second of this process, the prefill included (as PyTorch's figures). */
function tokensPerSecond(model: CausalLM, n: number): { wall: number; cpu: number } {
  const prompt = promptOf(promptLen, model.config.vocabSize);
  generate(model, prompt, { maxTokens: 2, temperature: 0, n }); // warm-up
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const out = generate(model, prompt, { maxTokens, temperature: 0, n });
  const cpu = process.cpuUsage(cpu0);
  const tokens = out.reduce((s, o) => s + o.tokens.length, 0);
  return { wall: (tokens * 1000) / (performance.now() - t), cpu: (tokens * 1e6) / (cpu.user + cpu.system) };
}

function ttftMs(model: CausalLM): number {
  const prompt = promptOf(ttftLen, model.config.vocabSize);
  generate(model, prompt, { maxTokens: 1, temperature: 0 }); // warm-up
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    generate(model, prompt, { maxTokens: 1, temperature: 0 });
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

await initBackend();
native?.setThreads(threads);
const report: Record<string, unknown> = { date: new Date().toISOString(), backend: backendInfo(), threads, prompt: promptLen, tokens: maxTokens, loadStart: loadavg() };
console.log(`backend: ${backendInfo()}; ${threads} thread(s) each side; prompt ${promptLen} tokens, ${maxTokens} new tokens, greedy; load average at start ${load()}`);
for (const name of a.models!.split(',')) {
  const m = MODELS[name];
  if (!m) throw new Error(`unknown model ${name} (expected ${Object.keys(MODELS).join(', ')})`);
  const model = await m.load();
  console.log(`${name} (${fmt(model.numParams())} parameters, context ${model.config.blockSize}):`);
  const rows: Record<string, unknown> = {};
  for (const n of a.batches!.split(',').map(Number)) {
    const [ours, theirs] = [{ wall: 0, cpu: 0 }, { wall: 0, cpu: 0 }];
    for (let r = 0; r < Number(a.rounds); r++) {
      const j = tokensPerSecond(model, n);
      const p = python(m.torch('gen', ['--batch', String(n), '--prompt', String(promptLen), '--tokens', String(maxTokens)]));
      [ours.wall, ours.cpu] = [Math.max(ours.wall, j.wall), Math.max(ours.cpu, j.cpu)];
      [theirs.wall, theirs.cpu] = [Math.max(theirs.wall, p.tokens_per_s), Math.max(theirs.cpu, p.tokens_per_cpu_s)];
    }
    console.log(
      `  generation batch ${n}: ${fmt(ours.wall)} tok/s, PyTorch ${fmt(theirs.wall)} tok/s, ratio ${(ours.wall / theirs.wall).toFixed(2)}× ` +
        `(per CPU-second ${fmt(ours.cpu)} and ${fmt(theirs.cpu)}, ratio ${(ours.cpu / theirs.cpu).toFixed(2)}×)`,
    );
    rows[`batch ${n}`] = { jielong: ours, pytorch: theirs, ratio: ours.wall / theirs.wall, cpuRatio: ours.cpu / theirs.cpu };
  }
  if (ttftLen > 0 && ttftLen <= model.config.blockSize) {
    let [ours, theirs] = [Infinity, Infinity];
    for (let r = 0; r < Number(a.rounds); r++) {
      ours = Math.min(ours, ttftMs(model));
      theirs = Math.min(theirs, python(m.torch('ttft', ['--prompt', String(ttftLen)])).ttft_ms);
    }
    console.log(`  time to first token (${ttftLen}-token prompt): ${fmt(ours)} ms, PyTorch ${fmt(theirs)} ms, ratio ${(theirs / ours).toFixed(2)}×`);
    rows.ttft = { prompt: ttftLen, jielongMs: ours, pytorchMs: theirs, ratio: theirs / ours };
  }
  report[name] = rows;
  model.dispose();
}
report.loadEnd = loadavg();
console.log(`load average at end ${load()}`);
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'generate.json'), JSON.stringify(report, null, 2));
