// Model quality: pre-trains the `small` preset on tinyshakespeare for a wall-clock budget and
// reports validation bits per byte, as nanoGPT's shakespeare example does.
//   npx tsx bench/quality-shakespeare.ts [--minutes 30] [--vocab 2048] [--batch 8] [--lr 1e-3]
//        [--threads 2] [--calib-steps N] [--dropout 0.1]
// Split as nanoGPT's prepare.py: the first 90% of the characters train, the last 10% validate.
// The BPE tokenizer is trained on the training split only.
//
// The budget is spent in two pretrain() calls on one run folder:
// 1. calibration: the first `calib-steps` steps, all inside the learning-rate warm-up (so their
//    schedule does not depend on the total), timing each step; a checkpoint is saved at its end;
// 2. the same run resumed (same seed, same batches, optimizer state kept) with `steps` set so the
//    cosine decay ends when the budget does. An abort at the deadline is the safety net: pretrain
//    then leaves its best-validation model in `best/`, which is used instead.
// Afterwards the final model is scored on the whole validation text (not a sample of windows) and
// 300 characters are sampled at temperature 0.8.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import {
  PRESETS,
  BpeTokenizer,
  TrainingError,
  backendInfo,
  generate,
  initBackend,
  loadCheckpoint,
  pretrain,
  type CausalLM,
  type PretrainConfig,
  type PretrainProgress,
  type PretrainResult,
} from '../packages/ml/src/index.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    vocab: { type: 'string', default: '2048' },
    // 8 rows of 256 tokens take ~1 GB of each thread's wasm heap with the native kernels.
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '1e-3' },
    threads: { type: 'string', default: '2' },
    'calib-steps': { type: 'string' },
    dropout: { type: 'string', default: '0.1' },
  },
});
const budgetSeconds = Number(args.minutes) * 60;
// About 20 steps (the first 3 untimed) time the run well; a quick run of a minute or two gets a few.
const calibSteps = Number(args['calib-steps'] ?? Math.min(20, Math.max(4, Math.round(budgetSeconds / 30))));
const EVALS = 10; // at most this many validation estimates over the run (each costs evalBatches forward passes)
const SAFETY = 0.95; // share of the remaining time planned for: the shared machine's speed drifts

const outDir = join(import.meta.dirname, 'out');
const runDir = join(outDir, 'quality-shakespeare');
rmSync(runDir, { recursive: true, force: true });
mkdirSync(runDir, { recursive: true });

const log = (...parts: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);

// Data: the first 90% of the characters train, the last 10% validate.
const text = readFileSync(new URL('../../shared/data/corpus/tinyshakespeare.txt', import.meta.url), 'utf8');
const ascii = /^[\x00-\x7f]*$/.test(text); // then bytes = characters and bits/byte = bits/character
const cut = Math.floor(text.length * 0.9);
const trainText = text.slice(0, cut);
const valText = text.slice(cut);

await initBackend();
const backend = backendInfo();
let t = performance.now();
const tokenizer = BpeTokenizer.train(trainText, { vocabSize: Number(args.vocab) });
const tokenizerSeconds = (performance.now() - t) / 1000;
const trainTokens = tokenizer.encode(trainText);
const valTokens = tokenizer.encode(valText);
log(`tokenizer: vocab ${tokenizer.vocabSize}, trained in ${tokenizerSeconds.toFixed(1)} s; train ${trainTokens.length} tokens (${(trainText.length / trainTokens.length).toFixed(2)} bytes/token), val ${valTokens.length} tokens (${(valText.length / valTokens.length).toFixed(2)} bytes/token)`);

// pretrain() appends <|endoftext|> to each document and holds out the tail of the token stream:
// with the two splits as two documents and this fraction, its validation part is exactly the
// validation text's tokens (+ its end-of-text token) and nothing of the training text.
const totalTokens = trainTokens.length + 1 + valTokens.length + 1;
const valFraction = (valTokens.length + 1.5) / totalTokens;
if (Math.floor(totalTokens * valFraction) !== valTokens.length + 1) throw new Error('split arithmetic is off');

const config: Partial<PretrainConfig> = {
  preset: 'small',
  // Under one epoch fits in the budget, so there is nothing for dropout to regularise yet.
  model: { dropout: Number(args.dropout) },
  batchSize: Number(args.batch),
  lr: Number(args.lr),
  minLr: Number(args.lr) / 10,
  warmupSteps: calibSteps,
  valFraction,
  evalBatches: 8,
  patience: 3,
  threads: Number(args.threads),
  seed: 1337,
};

const stepSeconds: number[] = [];
const loads: number[] = [];
let lastProgressAt = 0;
let evalSeconds = NaN;
const onProgress = (p: PretrainProgress) => {
  const now = performance.now();
  if (p.phase === 'tokenizer') return;
  stepSeconds[p.step] = (config.batchSize! * PRESETS.small.blockSize) / p.tokensPerSecond;
  if (p.phase === 'eval') {
    evalSeconds = (now - lastProgressAt) / 1000 - stepSeconds[p.step];
    loads.push(loadavg()[0]);
    log(`step ${p.step}/${p.steps} lr ${p.lr.toExponential(2)} train ${p.trainLoss.toFixed(3)} val ${p.valLoss!.toFixed(3)} (${p.bitsPerByte!.toFixed(3)} bits/byte) ${p.tokensPerSecond.toFixed(0)} tok/s, load ${loadavg()[0].toFixed(1)}`);
  } else if (p.step % 10 === 0) {
    log(`step ${p.step}/${p.steps} lr ${p.lr.toExponential(2)} train ${p.trainLoss.toFixed(3)} ${p.tokensPerSecond.toFixed(0)} tok/s`);
  }
  lastProgressAt = now;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const corpus = [trainText, valText];

// Phase 1: calibration inside the warm-up.
const start = performance.now();
const deadline = start + budgetSeconds * 1000;
lastProgressAt = start;
const calib = await pretrain({ corpus, tokenizer, outDir: runDir, onProgress, config: { ...config, steps: calibSteps, evalEvery: calibSteps, checkpointEvery: calibSteps } });
calib.model.dispose();
// The first steps also compile kernels and pack weights.
const timed = stepSeconds.slice(3).filter(Number.isFinite);
const stepSec = median(timed.length > 0 ? timed : stepSeconds.filter(Number.isFinite));
const calibEvalSec = evalSeconds;

// Phase 2: resume with the cosine schedule sized to the time left.
const remaining = (deadline - performance.now()) / 1000;
// Evaluations take at most a tenth of the time left.
const evalCount = Math.max(1, Math.min(EVALS, Math.floor((0.1 * remaining) / calibEvalSec)));
const moreSteps = Math.max(1, Math.floor((remaining * SAFETY - evalCount * calibEvalSec) / stepSec));
const steps = calibSteps + moreSteps;
const evalEvery = Math.max(1, Math.ceil(steps / evalCount));
log(`calibration: ${stepSec.toFixed(2)} s/step, eval ${calibEvalSec.toFixed(1)} s; ${remaining.toFixed(0)} s left → ${steps} steps in all, evaluating every ${evalEvery}`);
const abort = new AbortController();
const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - performance.now()));
let result: PretrainResult | null = null;
let model: CausalLM;
let stoppedAtDeadline = false;
try {
  result = await pretrain({ corpus, tokenizer, outDir: runDir, resume: true, onProgress, signal: abort.signal, config: { ...config, steps, evalEvery, checkpointEvery: 0 } });
  model = result.model;
} catch (e) {
  if (!(e instanceof TrainingError && e.code === 'aborted')) throw e;
  stoppedAtDeadline = true;
  log(`deadline reached (${e.message}); using the best checkpoint`);
  model = (await loadCheckpoint(join(runDir, 'best'))).model;
} finally {
  clearTimeout(timer);
}
const trainSeconds = (performance.now() - start) / 1000;
// Cut short: the progress is the best checkpoint's (steps after it count as not trained).
const run = result
  ? { steps: result.steps, bestStep: result.bestStep, evals: result.evals }
  : (({ step, bestStep, evals }) => ({ steps: step, bestStep, evals }))(JSON.parse(readFileSync(join(runDir, 'best', 'config.json'), 'utf8')).state as { step: number; bestStep: number; evals: PretrainResult['evals'] });
const stepsDone = run.steps;
const lastEval = run.evals.at(-1)!;
const T = model.config.blockSize;
const tokensSeen = stepsDone * config.batchSize! * T;

// Whole validation text, in windows of the context length: every validation token is predicted
// once (the first from the training text's last token), and the bits add up over its bytes.
t = performance.now();
const stream = [trainTokens.at(-1)!, ...valTokens];
let nats = 0;
for (let i = 0; i < valTokens.length; i += T * 8) {
  const rows: { x: number[]; y: number[] }[] = [];
  for (let j = i; j < Math.min(i + T * 8, valTokens.length); j += T) {
    const len = Math.min(T, valTokens.length - j);
    rows.push({ x: stream.slice(j, j + len), y: valTokens.slice(j, j + len) });
  }
  // Equal lengths per forward pass: the last, shorter window goes on its own.
  for (const group of [rows.filter((r) => r.x.length === T), rows.filter((r) => r.x.length < T)]) {
    if (group.length === 0) continue;
    const len = group[0].x.length;
    nats -= tf.tidy(() => {
      const x = tf.tensor2d(group.flatMap((r) => r.x), [group.length, len], 'int32');
      const y = tf.tensor2d(group.flatMap((r) => r.y), [group.length, len], 'int32');
      return model.forward(x, { targets: y }).logProbs!.sum().dataSync()[0];
    });
  }
}
const valBytes = Buffer.byteLength(valText, 'utf8');
const valBitsPerByte = nats / Math.LN2 / valBytes;
const valLossPerToken = nats / valTokens.length;
const fullEvalSeconds = (performance.now() - t) / 1000;
const trainBytesPerToken = Buffer.byteLength(trainText, 'utf8') / trainTokens.length;

// 300 characters at temperature 0.8, starting from a newline as nanoGPT's sample.py does.
const sample = tokenizer
  .decode(generate(model, tokenizer.encode('\n'), { maxTokens: 240, temperature: 0.8, seed: 1 })[0].tokens)
  .slice(0, 300);

const report = {
  date: new Date().toISOString(),
  node: process.version,
  backend,
  threads: config.threads,
  loadAverageDuringEvals: loads.map((l) => Number(l.toFixed(1))),
  budgetMinutes: budgetSeconds / 60,
  trainSeconds: Number(trainSeconds.toFixed(0)),
  stoppedAtDeadline,
  corpus: { chars: text.length, ascii, trainChars: trainText.length, valChars: valText.length },
  tokenizer: { vocabSize: tokenizer.vocabSize, trainedOn: 'training split', seconds: Number(tokenizerSeconds.toFixed(1)), trainBytesPerToken: Number(trainBytesPerToken.toFixed(3)), valBytesPerToken: Number((valBytes / valTokens.length).toFixed(3)) },
  model: { preset: 'small', ...model.config, params: model.numParams() },
  hyperParameters: { ...config, model: undefined, steps, evalEvery, calibSteps },
  calibration: { secondsPerStep: Number(stepSec.toFixed(2)), evalSeconds: Number(calibEvalSec.toFixed(1)) },
  steps: stepsDone,
  bestStep: run.bestStep,
  tokensSeen,
  epochsOfTrainingTokens: Number((tokensSeen / trainTokens.length).toFixed(3)),
  tokensPerSecond: { wallClock: Number((tokensSeen / trainSeconds).toFixed(1)), trainingStepsOnly: Number(((config.batchSize! * T) / median(stepSeconds.filter(Number.isFinite))).toFixed(1)) },
  trainLoss: { natsPerToken: Number(lastEval.trainLoss.toFixed(4)), bitsPerByte: Number((lastEval.trainLoss / Math.LN2 / trainBytesPerToken).toFixed(4)), note: 'moving average of the last ~10 steps at the last evaluation' },
  validation: { natsPerToken: Number(valLossPerToken.toFixed(4)), bitsPerByte: Number(valBitsPerByte.toFixed(4)), bitsPerCharacter: ascii ? Number(valBitsPerByte.toFixed(4)) : null, tokens: valTokens.length, bytes: valBytes, evalSeconds: Number(fullEvalSeconds.toFixed(1)) },
  evals: run.evals,
  sample,
};
model.dispose();
writeFileSync(join(outDir, 'quality-shakespeare.json'), JSON.stringify(report, null, 2) + '\n');
log(`done: ${stepsDone} steps, ${tokensSeen} tokens in ${trainSeconds.toFixed(0)} s (${report.tokensPerSecond.wallClock} tok/s); train loss ${lastEval.trainLoss.toFixed(3)} nats/token; validation ${valBitsPerByte.toFixed(4)} bits/byte${ascii ? ' (= bits/character: the file is ASCII)' : ''}, ${valLossPerToken.toFixed(3)} nats/token`);
console.log(`--- sample (temperature 0.8) ---\n${sample}\n---`);
console.log(JSON.stringify({ ...report, evals: undefined, sample: undefined }, null, 2));
