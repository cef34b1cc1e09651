// Which well-known model shapes fit, by the estimate the pre-flight check uses (packages/ml/src/memory.ts):
// `npx tsx bench/memory_limits.ts [--tokens 256] [--answers 8] [--ram GB]`. Sampling: `--answers` answers
// at once over 512 tokens; LoRA (rank 8) and full fine-tuning: one row of `--tokens` tokens (the smallest
// batch). Sampling and LoRA hold the base weights frozen outside the 4 GB wasm heap, against `--ram`
// (default: this machine's free memory now); full fine-tuning holds every weight in the heap. Then the
// largest GPT-2-shaped model (width 64 per head, at least as many layers as heads, as in GPT-2 small to
// XL) for each task.
import { freemem } from 'node:os';
import { parseArgs } from 'node:util';
import { estimateMemory, parameterCount, type GPTConfig, type LlamaConfig, type MemoryTask, type ModelConfig } from '../packages/ml/src/index.ts';

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '256' }, answers: { type: 'string', default: '8' }, ram: { type: 'string' } } });
const tokens = Number(values.tokens);
const answers = Number(values.answers);
const ramLimitBytes = values.ram ? Number(values.ram) * 1e9 : freemem();

const gpt = (nLayer: number, nEmbd: number, nHead: number): GPTConfig => ({ family: 'gpt', vocabSize: 50257, blockSize: 1024, nLayer, nHead, nEmbd, dropout: 0 });
const llama = (c: Omit<LlamaConfig, 'family' | 'ropeTheta' | 'normEps' | 'attentionBias'> & { attentionBias?: boolean }): LlamaConfig => ({ family: 'llama', ropeTheta: 10000, normEps: 1e-5, attentionBias: false, ...c });

const SHAPES: [string, ModelConfig][] = [
  ['stories260K', llama({ vocabSize: 512, blockSize: 512, nLayer: 5, nHead: 8, nKvHead: 4, nEmbd: 64, hiddenSize: 172, tiedEmbeddings: true })],
  ['GPT-2 small', gpt(12, 768, 12)],
  ['GPT-2 medium', gpt(24, 1024, 16)],
  ['GPT-2 large', gpt(36, 1280, 20)],
  ['GPT-2 XL', gpt(48, 1600, 25)],
  ['Qwen2-0.5B', llama({ vocabSize: 151936, blockSize: 32768, nLayer: 24, nHead: 14, nKvHead: 2, nEmbd: 896, hiddenSize: 4864, tiedEmbeddings: true, attentionBias: true })],
  ['TinyLlama-1.1B', llama({ vocabSize: 32000, blockSize: 2048, nLayer: 22, nHead: 32, nKvHead: 4, nEmbd: 2048, hiddenSize: 5632, tiedEmbeddings: false })],
  ['Llama-2-7B', llama({ vocabSize: 32000, blockSize: 4096, nLayer: 32, nHead: 32, nKvHead: 32, nEmbd: 4096, hiddenSize: 11008, tiedEmbeddings: false })],
];

const TASKS: MemoryTask[] = ['sample', 'lora', 'full'];
const opts = (task: MemoryTask) => ({ ...(task === 'sample' ? { rows: answers, tokens: 512 } : { rows: 1, tokens }), frozen: true, ramLimitBytes });
const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
const cell = (m: ModelConfig, task: MemoryTask) => {
  const e = estimateMemory(m, task, opts(task));
  const verdict = e.fits ? 'fits' : e.frozenBytes && e.ramBytes > e.ramLimitBytes ? '**refused** (RAM)' : '**refused** (heap)';
  return `${gb(e.totalBytes)} heap${e.frozenBytes ? ` + ${gb(e.frozenBytes)} frozen` : ''} ${verdict}`;
};

console.log(`RAM for frozen weights and the heap: ${gb(ramLimitBytes)}; heap ${gb(4294901760)}`);
console.log(`| model | parameters | sample (${answers} answers, 512 tokens) | LoRA (1 × ${tokens}) | full (1 × ${tokens}) |`);
console.log('|---|---|---|---|---|');
for (const [name, m] of SHAPES) console.log(`| ${name} | ${(parameterCount(m) / 1e6).toFixed(1)}M | ${TASKS.map((t) => cell(m, t)).join(' | ')} |`);

// Largest GPT-2-shaped model per task: width 64·h, at least h layers (GPT-2: 12/12, 16/24, 20/36, 25/48).
console.log('\nlargest GPT-2-shaped model that fits (vocabulary 50,257, context 1024):');
for (const task of TASKS) {
  let best: GPTConfig | null = null;
  for (let h = 12; h <= 64; h++) {
    for (let L = h; L <= 96; L++) {
      const m = gpt(L, 64 * h, h);
      if (estimateMemory(m, task, opts(task)).fits && (!best || parameterCount(m) > parameterCount(best))) best = m;
    }
  }
  console.log(`  ${task}: ${best ? `${(parameterCount(best) / 1e6).toFixed(0)}M parameters (e.g. d ${best.nEmbd}, ${best.nLayer} layers)` : 'none'}`);
}
