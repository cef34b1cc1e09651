// jielong-ml: pre-train a model on text files, import a pre-trained one, and sample from either.
//   jielong-ml pretrain --corpus a.txt [--corpus b.txt] --preset small --out dir [--steps 2000] [--resume]
//   jielong-ml import --from stories260K.bin --tokenizer tok512.bin --out dir
//   jielong-ml import --from hf-folder/ | model.gguf [--tokenizer tokenizer.json] --out dir
//   jielong-ml export --model dir --out hf-folder/ [--lora merge|peft]
//   jielong-ml sample --model dir --prompt "..." [--max-tokens 200] [--temperature 0.8] [--n 3]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backendInfo, initBackend } from './backend.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { exportModel, importModel, modelFromTensors } from './formats/index.ts';
import { PRESETS, type PresetName } from './models/index.ts';
import { pretrain, TrainingError, type PretrainConfig, type PretrainProgress } from './pretrain.ts';
import { generate } from './sample.ts';

const USAGE = `usage:
  jielong-ml pretrain --corpus FILE [--corpus FILE …] --out DIR [--preset tiny|mini|small]
                      [--steps N] [--batch-size N] [--lr X] [--vocab-size N] [--block-size N]
                      [--eval-every N] [--seed N] [--threads N] [--micro-batch N] [--resume]
                      [--backend auto|tensorflow|wasm|cpu]
  jielong-ml import --from PATH [--tokenizer FILE] --out DIR     (Hugging Face folder, .gguf,
                                                                  llama2.c .bin + tokenizer.bin)
  jielong-ml export --model DIR --out DIR [--lora merge|peft]    (as a Hugging Face folder)
  jielong-ml sample --model DIR --prompt TEXT [--max-tokens N] [--temperature X] [--top-k N]
                    [--top-p X] [--n N] [--seed N] [--no-cache] [--backend …]`;

function fail(message: string): never {
  process.stderr.write(`jielong-ml: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got "${v}"`);
  return n;
}

/** A model refused before any work (e.g. out-of-memory): its reason and what to do, exit 1. */
function refused(e: unknown): never {
  if (e instanceof TrainingError) {
    process.stderr.write(`jielong-ml: ${e.code}: ${e.message}${e.suggestion ? `\nsuggestion: ${e.suggestion}` : ''}\n`);
    process.exit(1);
  }
  throw e;
}

const duration = (s: number) => (!Number.isFinite(s) ? '?' : s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 60)}m${Math.floor(s % 60)}s`);

/** One line redrawn in place: bar, step, losses, throughput, ETA. */
function progressLine(p: PretrainProgress, val?: { loss: number; bpb: number }): string {
  if (p.phase === 'tokenizer') return 'training tokenizer…';
  const width = 24;
  const done = Math.round((p.step / p.steps) * width);
  const bar = '█'.repeat(done) + '░'.repeat(width - done);
  const v = val ? ` val ${val.loss.toFixed(3)} (${val.bpb.toFixed(3)} bpb)` : '';
  return `${bar} ${p.step}/${p.steps} loss ${p.trainLoss.toFixed(3)}${v} ${Math.round(p.tokensPerSecond).toLocaleString('en')} tok/s ETA ${duration(p.etaSeconds)}`;
}

async function runPretrain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string', multiple: true },
      out: { type: 'string' },
      preset: { type: 'string', default: 'mini' },
      steps: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'vocab-size': { type: 'string' },
      'block-size': { type: 'string' },
      'eval-every': { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      'micro-batch': { type: 'string' },
      resume: { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  if (!values.corpus?.length) fail('pretrain needs --corpus FILE');
  if (!values.out) fail('pretrain needs --out DIR');
  for (const f of values.corpus) if (!existsSync(f)) fail(`corpus file not found: ${f}`);
  if (!(values.preset! in PRESETS)) fail(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  const config: Partial<PretrainConfig> = { preset: values.preset as PresetName };
  const set = <K extends keyof PretrainConfig>(k: K, v: PretrainConfig[K] | undefined) => {
    if (v !== undefined) config[k] = v;
  };
  set('steps', num(values.steps, 'steps'));
  set('batchSize', num(values['batch-size'], 'batch-size'));
  set('lr', num(values.lr, 'lr'));
  set('vocabSize', num(values['vocab-size'], 'vocab-size'));
  set('evalEvery', num(values['eval-every'], 'eval-every'));
  set('seed', num(values.seed, 'seed'));
  set('threads', num(values.threads, 'threads'));
  set('microBatch', num(values['micro-batch'], 'micro-batch'));
  const blockSize = num(values['block-size'], 'block-size');
  if (blockSize) config.model = { blockSize };

  await initBackend(values.backend);
  process.stderr.write(`backend: ${backendInfo()}\n`);
  let val: { loss: number; bpb: number } | undefined;
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  try {
    const res = await pretrain({
      corpus: values.corpus.map((file) => ({ file })),
      config,
      outDir: values.out,
      resume: values.resume,
      onProgress: (p) => {
        if (p.valLoss !== undefined) val = { loss: p.valLoss, bpb: p.bitsPerByte! };
        const line = progressLine(p, val);
        if (tty) process.stderr.write(`\r\x1b[2K${line}`);
        else if (p.phase !== 'train' || Date.now() - lastPrint > 10_000) {
          process.stderr.write(line + '\n');
          lastPrint = Date.now();
        }
      },
    });
    if (tty) process.stderr.write('\n');
    if (res.stopped) process.stderr.write(`${res.stopped.code}: ${res.stopped.message}\n`);
    process.stdout.write(
      `model: ${join(values.out, 'model')} (${res.model.numParams().toLocaleString('en')} parameters, best validation loss ${res.bestValLoss.toFixed(4)} at step ${res.bestStep})\n`,
    );
  } catch (e) {
    if (tty) process.stderr.write('\n');
    if (e instanceof TrainingError) {
      process.stderr.write(`${e.code}: ${e.message}${e.suggestion ? `\nsuggestion: ${e.suggestion}` : ''}\n`);
      process.exit(1);
    }
    throw e;
  }
}

async function runSample(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string', default: '' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      n: { type: 'string' },
      seed: { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  if (!values.model) fail('sample needs --model DIR');
  // Accept the pretrain output folder as well as its model/ subfolder.
  const dir = existsSync(join(values.model, 'manifest.json')) ? values.model : join(values.model, 'model');
  if (!existsSync(join(dir, 'manifest.json'))) fail(`no model in ${values.model}`);
  await initBackend(values.backend);
  const { model, tokenizer } = await loadCheckpoint(dir, { frozen: true }).catch(refused);
  if (!tokenizer) fail(`${dir} has no tokenizer.json`);
  // A prompt continues the text that begins a sequence; an empty one starts from it.
  const prompt = tokenizer.encode(values.prompt ?? '', { bos: true });
  const samples = generate(model, prompt, {
    maxTokens: num(values['max-tokens'], 'max-tokens') ?? 200,
    temperature: num(values.temperature, 'temperature') ?? 0.8,
    topK: num(values['top-k'], 'top-k') ?? 0,
    topP: num(values['top-p'], 'top-p') ?? 1,
    n: num(values.n, 'n') ?? 1,
    seed: num(values.seed, 'seed') ?? Date.now() % 2 ** 31,
    cache: !values['no-cache'],
    stop: [...tokenizer.stopIds],
  });
  samples.forEach((s, i) => {
    if (samples.length > 1) process.stdout.write(`--- ${i + 1} ---\n`);
    // Decoded with the prompt: SentencePiece-style tokenizers drop the space that starts a sequence.
    process.stdout.write(tokenizer.decode([...prompt, ...s.tokens], { skipSpecial: true }) + '\n');
  });
}

async function runImport(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, tokenizer: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } } });
  if (!values.from) fail('import needs --from PATH');
  if (!values.out) fail('import needs --out DIR');
  if (!existsSync(values.from)) fail(`model not found: ${values.from}`);
  if (values.tokenizer && !existsSync(values.tokenizer)) fail(`tokenizer file not found: ${values.tokenizer}`);
  await initBackend(values.backend);
  let imported;
  try {
    imported = await importModel({ from: values.from, tokenizer: values.tokenizer });
  } catch (e) {
    if (e instanceof Error && e.name === 'FormatError') {
      process.stderr.write(`jielong-ml: ${e.message}\n`);
      process.exit(1);
    }
    refused(e);
  }
  const model = modelFromTensors(imported.config, imported.tensors);
  await saveCheckpoint(values.out, { model, tokenizer: imported.tokenizer, provenance: imported.provenance });
  const { sourceFormat, architecture } = imported.provenance;
  process.stdout.write(`model: ${values.out} (${architecture} from ${sourceFormat}, ${model.numParams().toLocaleString('en')} parameters, vocabulary ${imported.tokenizer.vocabSize})\n`);
  model.dispose();
}

async function runExport(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, out: { type: 'string' }, lora: { type: 'string', default: 'merge' }, backend: { type: 'string' } } });
  if (!values.model) fail('export needs --model DIR');
  if (!values.out) fail('export needs --out DIR');
  if (values.lora !== 'merge' && values.lora !== 'peft') fail(`--lora must be merge or peft, got "${values.lora}"`);
  const dir = existsSync(join(values.model, 'manifest.json')) ? values.model : join(values.model, 'model');
  if (!existsSync(join(dir, 'manifest.json'))) fail(`no model in ${values.model}`);
  await initBackend(values.backend);
  const { model, tokenizer } = await loadCheckpoint(dir, { frozen: true });
  const res = await exportModel(values.out, model, tokenizer, { lora: values.lora });
  process.stdout.write(`exported: ${values.out} (${res.architecture}; ${res.files.join(', ')}${res.adapterDir ? `; PEFT adapter in ${res.adapterDir}` : ''})\n`);
  model.dispose();
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'pretrain') await runPretrain(rest);
else if (command === 'import') await runImport(rest);
else if (command === 'export') await runExport(rest);
else if (command === 'sample') await runSample(rest);
else fail(command ? `unknown command "${command}"` : 'missing command');
