// Reward-model accuracy on Anthropic's hh-rlhf (helpful-base + harmless-base), 90/10 split:
//   npx tsx bench/reward-hh.ts [--pretrain-minutes 40] [--preset mini] [--vocab 4096] [--block 128]
//                              [--batch 16] [--reward-epochs 1] [--reward-lr 1e-4] [--threads 1] [--max-pairs 0]
//                              [--base-dir DIR] [--base DIR] [--lora RANK]
// Stages (each timed): parse the dialogues into chat turns; train a tokenizer and pre-train a base
// model (packages/ml pretrain) on tinyshakespeare + the training split's dialogues for about
// --pretrain-minutes (the step count comes from a short calibration run); train the reward model on
// the training pairs; measure accuracy and mean margin on the held-out 10%. Results go to
// bench/out/reward-hh.json. The held-out dialogues are never in the pre-training text.
// --base-dir saves the pre-trained base there, or loads it when present, so the reward stage can
// be rerun with other settings without pre-training again (the split is fixed by its seed).
// --base DIR starts from an imported model instead (a folder made by `jielong-ml import`, e.g. from
// a real checkpoint): no tokenizer training or pre-training; the reward model uses that model's
// tokenizer. --lora RANK trains LoRA adapters (alpha 2 × rank) and the head instead of every weight,
// for bases too large to fine-tune whole (the memory pre-flight says which).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  backendInfo, evaluateRewardModel, hasCheckpoint, holdOut, initBackend, loadCheckpoint, pretrain, saveCheckpoint, BpeTokenizer, trainRewardModel,
  type ChatTurn, type PreferencePair, type PresetName,
} from '../packages/ml/src/index.ts';

const { values: args } = parseArgs({
  options: {
    'pretrain-minutes': { type: 'string', default: '40' },
    preset: { type: 'string', default: 'mini' },
    vocab: { type: 'string', default: '4096' },
    block: { type: 'string', default: '128' },
    batch: { type: 'string', default: '16' },
    'reward-epochs': { type: 'string', default: '1' },
    'reward-lr': { type: 'string', default: '1e-4' },
    threads: { type: 'string', default: '1' },
    'max-pairs': { type: 'string', default: '0' },
    'base-dir': { type: 'string' },
    base: { type: 'string' },
    lora: { type: 'string', default: '0' },
  },
});
const preset = args.preset as PresetName;
const blockSize = Number(args.block);
const batchSize = Number(args.batch);
const threads = Number(args.threads);
const DATA = join(import.meta.dirname, '../../shared/data');
const times: Record<string, number> = {};
async function timed<T>(stage: string, fn: () => T | Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  times[stage] = (performance.now() - t) / 1000;
  console.log(`[${stage}] ${times[stage].toFixed(1)} s`);
  return out;
}

/** "\n\nHuman: …\n\nAssistant: …" → chat turns. */
function turns(dialogue: string): ChatTurn[] {
  return dialogue
    .split(/\n\n(?=(?:Human|Assistant): )/)
    .filter((s) => s.trim())
    .map((s) => {
      const m = /^(Human|Assistant): ([\s\S]*)$/.exec(s);
      if (!m) throw new Error(`unparsable turn: ${s.slice(0, 60)}`);
      return { role: m[1] === 'Human' ? 'user' : 'assistant', content: m[2].trim() };
    });
}

/** A pair when both dialogues share everything but a final assistant turn. */
function toPair(row: { chosen: string; rejected: string }): (PreferencePair & { text: string }) | null {
  const [c, r] = [turns(row.chosen), turns(row.rejected)];
  const [lastC, lastR] = [c.at(-1), r.at(-1)];
  if (lastC?.role !== 'assistant' || lastR?.role !== 'assistant' || c.length !== r.length) return null;
  const prompt = c.slice(0, -1);
  if (JSON.stringify(prompt) !== JSON.stringify(r.slice(0, -1)) || lastC.content === lastR.content) return null;
  return { prompt, chosen: lastC.content, rejected: lastR.content, text: `${row.chosen.trim()}\n\nAssistant: ${lastR.content}` };
}

await initBackend();
console.log(`backend: ${backendInfo()}; threads ${threads}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const { train, test, skipped } = await timed('load + parse', () => {
  const pairs: (PreferencePair & { text: string })[] = [];
  let skipped = 0;
  for (const name of ['hh-rlhf-helpful-base.jsonl.gz', 'hh-rlhf-harmless-base.jsonl.gz']) {
    const lines = gunzipSync(readFileSync(join(DATA, 'preferences', name))).toString('utf8').split('\n').filter(Boolean);
    for (const line of lines) {
      const p = toPair(JSON.parse(line));
      if (p) pairs.push(p);
      else skipped++;
    }
  }
  const max = Number(args['max-pairs']);
  const { train, val } = holdOut(max > 0 ? pairs.slice(0, max) : pairs, 0.1, 42);
  return { train, test: val, skipped };
});
console.log(`pairs: ${train.length} train, ${test.length} held out, ${skipped} skipped (not a shared-prefix pair)`);

// Pre-training text: tinyshakespeare, then the training split's dialogues (validation = the tail of those).
async function pretrainBase() {
  const shakespeare = readFileSync(join(DATA, 'corpus/tinyshakespeare.txt'), 'utf8');
  const corpus = [shakespeare, ...train.map((p) => p.text)];
  const tokenizer = await timed('tokenizer', () => BpeTokenizer.train(corpus, { vocabSize: Number(args.vocab) }));
  const pretrainConfig = { preset, model: { blockSize, dropout: 0 }, batchSize, lr: 1e-3, minLr: 1e-4, weightDecay: 0.1, threads, evalBatches: 8, patience: 1000 };

  // Calibration: a few steps give tokens/s, hence the step count that fits the budget.
  const tokensPerSecond = await timed('calibration', async () => {
    const speeds: number[] = [];
    const { model } = await pretrain({ corpus, tokenizer, config: { ...pretrainConfig, steps: 8, warmupSteps: 1, evalEvery: 8, evalBatches: 1 }, onProgress: (p) => p.step > 2 && speeds.push(p.tokensPerSecond) });
    model.dispose();
    return speeds.sort((a, b) => a - b)[Math.floor(speeds.length / 2)];
  });
  const budget = Number(args['pretrain-minutes']) * 60;
  const steps = Math.max(20, Math.floor((0.9 * budget * tokensPerSecond) / (batchSize * blockSize)));
  console.log(`calibration: ${tokensPerSecond.toFixed(0)} tokens/s → ${steps} steps of ${batchSize}×${blockSize} tokens for ~${args['pretrain-minutes']} min`);

  const res = await timed('pretrain', () =>
    pretrain({
      corpus, tokenizer,
      config: { ...pretrainConfig, steps, warmupSteps: Math.min(200, Math.floor(steps / 10)), evalEvery: Math.max(1, Math.floor(steps / 10)) },
      onProgress: (p) => p.phase === 'eval' && console.log(`  pretrain step ${p.step}/${p.steps}: train ${p.trainLoss.toFixed(3)}, val ${p.valLoss!.toFixed(3)} nats (${p.bitsPerByte!.toFixed(3)} bits/byte), ${p.tokensPerSecond.toFixed(0)} tok/s`),
    }),
  );
  const last = res.evals.at(-1)!;
  const info = { steps: res.steps, tokensSeen: res.steps * batchSize * blockSize, valLoss: last.valLoss, bitsPerByte: last.bitsPerByte, seconds: { ...times } };
  return { model: res.model, tokenizer, info };
}

/** A saved or imported base: its model, tokenizer, and what is known of it. */
async function loadBase(dir: string) {
  const ck = await timed('load base', () => loadCheckpoint(dir));
  if (!ck.tokenizer) throw new Error(`${dir} has no tokenizer.json: import the model with its tokenizer`);
  console.log(`base loaded from ${dir}: ${ck.model.numParams().toLocaleString('en')} parameters${ck.provenance ? ` (${ck.provenance.architecture} from ${ck.provenance.sourceFormat})` : ''}`);
  return { model: ck.model, tokenizer: ck.tokenizer, info: { ...(ck.state.info as Record<string, unknown>), dir, provenance: ck.provenance } };
}

const baseDir = args['base-dir'];
const base = args.base ? await loadBase(args.base) : baseDir && hasCheckpoint(baseDir) ? await loadBase(baseDir) : await pretrainBase();
if (!args.base && baseDir && !hasCheckpoint(baseDir)) await saveCheckpoint(baseDir, { model: base.model, tokenizer: base.tokenizer, state: { info: base.info } });
const tokenizer = base.tokenizer;

const rm = await timed('reward training', () =>
  trainRewardModel({
    model: base.model, tokenizer, pairs: train,
    config: { lora: Number(args.lora) > 0 ? { rank: Number(args.lora), alpha: 2 * Number(args.lora) } : null, epochs: Number(args['reward-epochs']), batchSize, lr: Number(args['reward-lr']), minLr: Number(args['reward-lr']) / 10, warmupSteps: 20, valFraction: 0.05, evalEvery: 50 },
    onProgress: (p) => p.phase === 'eval' && console.log(`  reward step ${p.step}/${p.steps}: train loss ${p.trainLoss.toFixed(3)}, val accuracy ${p.valAccuracy!.toFixed(3)}, val margin ${p.valMargin!.toFixed(3)}, ${p.pairsPerSecond.toFixed(1)} pairs/s`),
  }),
);
const heldOut = await timed('held-out evaluation', () => evaluateRewardModel(rm.model, rm.tokenizer, test));
// Reference point: "the longer answer wins".
const longer = test.reduce((s, p) => s + (p.chosen.length > p.rejected.length ? 1 : p.chosen.length === p.rejected.length ? 0.5 : 0), 0) / test.length;

const result = {
  date: new Date().toISOString(),
  backend: backendInfo(),
  threads,
  load: loadavg().map((l) => l.toFixed(1)).join(' '),
  args,
  pairs: { train: train.length, test: test.length, skipped },
  tokenizer: { vocabSize: tokenizer.vocabSize, rewardModel: rm.tokenizer.vocabSize },
  base: { params: base.model.numParams(), config: base.model.config, ...base.info },
  reward: { steps: rm.steps, trainPairs: rm.trainPairs, heldOut },
  lengthBaselineAccuracy: longer,
  seconds: times,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out/reward-hh.json'), JSON.stringify(result, null, 2));
