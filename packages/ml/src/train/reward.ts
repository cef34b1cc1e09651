// Reward model: the SFT model's backbone plus a scalar head, trained on raters' comparisons with
// the pairwise Bradley–Terry loss −log σ(r_chosen − r_rejected). After InstructGPT, the pairs of
// one ranking stay together in a batch and count as one example (a ranking of K answers gives
// K(K−1)/2 correlated pairs; shuffled apart they overfit), and each distinct answer in a batch is
// scored once. The reward of an answer is the head's output on its final <|end|> token.
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  checkConfig, chunks, EPOCH_DEFAULTS, EPOCH_RULES, fineTuneStart, holdOut, lastHeadValues, padSequences, renderAnswer, requireData, shuffled,
  trainEpochs, type EpochConfig, type PairTrainingResult, type PreferencePair, type Prompt, type StepProgress, type TrainerOptions,
} from './common.ts';

/**
 * epochs defaults to 1: InstructGPT trains its reward model for one epoch, more overfits.
 * batchSize counts pairs, filled with whole rankings (a ranking larger than it is a step alone).
 */
export interface RewardConfig extends EpochConfig {
  /** λ of the penalty λ·(r_chosen + r_rejected)², which keeps rewards centred on 0 (0 = off). */
  centerCoef: number;
}

export const REWARD_DEFAULTS: RewardConfig = { ...EPOCH_DEFAULTS, batchSize: 16, centerCoef: 0.001 };

export interface RewardEval {
  /** Share of held-out pairs where r_chosen > r_rejected (a tie counts half). */
  accuracy: number;
  /** Mean of r_chosen − r_rejected. */
  margin: number;
  /** Mean Bradley–Terry loss. */
  loss: number;
  /** Mean and standard deviation of the rewards of all held-out answers. */
  rewardMean: number;
  rewardStd: number;
}

export interface RewardProgress extends StepProgress {
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  valMargin?: number;
  pairsPerSecond: number;
}

export interface RewardOptions extends TrainerOptions<RewardConfig, RewardProgress> {
  /** The SFT model whose backbone the reward model starts from; it is copied, never changed. */
  model: CausalLM;
  pairs: readonly PreferencePair[];
}

/** initial: before training the head is at zero, so every pair ties. */
export interface RewardResult extends PairTrainingResult<RewardEval> {
  /** The reward model: a CausalLM with its scalar head attached (score answers with scoreReward). */
  model: CausalLM;
  /** Its tokenizer: the one given, with the chat tokens added when the base had no chat format. */
  tokenizer: Tokenizer;
}

/** Rewards of answers (prompt + answer each), one forward per batch. */
function answerRewards(model: CausalLM, tok: Tokenizer, items: readonly { prompt: Prompt; answer: string }[], opts: { training?: boolean; seed?: number } = {}): tf.Tensor1D {
  const seqs = items.map((it) => renderAnswer(tok, it.prompt, it.answer, model.config.blockSize, 'end').ids);
  const { x, last } = padSequences(seqs, tok.eotId);
  const { head } = model.forward(x, { head: true, logits: false, ...opts });
  return lastHeadValues(head!, last);
}

/** Rewards of chosen and rejected answers; an answer that appears in several pairs is scored once. */
function pairRewards(model: CausalLM, tok: Tokenizer, pairs: readonly PreferencePair[], opts: { training?: boolean; seed?: number } = {}): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const index = new Map<string, number>();
  const items: { prompt: Prompt; answer: string }[] = [];
  const idOf = (prompt: Prompt, answer: string) => {
    const key = JSON.stringify([prompt, answer]);
    if (!index.has(key)) {
      index.set(key, items.length);
      items.push({ prompt, answer });
    }
    return index.get(key)!;
  };
  const c = pairs.map((p) => idOf(p.prompt, p.chosen));
  const r = pairs.map((p) => idOf(p.prompt, p.rejected));
  const rewards = answerRewards(model, tok, items, opts);
  return { chosen: tf.gather(rewards, c), rejected: tf.gather(rewards, r) };
}

/** The reward model's score of one answer. */
export function scoreReward(model: CausalLM, tokenizer: Tokenizer, prompt: Prompt, answer: string): number {
  return scoreRewards(model, tokenizer, [{ prompt, answer }])[0];
}

/** Scores of many answers, in batches. */
export function scoreRewards(model: CausalLM, tokenizer: Tokenizer, items: readonly { prompt: Prompt; answer: string }[], batchSize = 16): number[] {
  return chunks(items, batchSize).flatMap((part) => Array.from(tf.tidy(() => answerRewards(model, tokenizer, part).dataSync())));
}

/** A reward function for PPO or evaluation, backed by a reward model. */
export function rewardModelFn(model: CausalLM, tokenizer: Tokenizer): (prompt: Prompt, answer: string) => number {
  return (prompt, answer) => scoreReward(model, tokenizer, prompt, answer);
}

/** Accuracy, margin and loss of a reward model on held-out pairs. */
export function evaluateRewardModel(model: CausalLM, tokenizer: Tokenizer, pairs: readonly PreferencePair[], batchSize = 16): RewardEval {
  const chosen: number[] = [];
  const rejected: number[] = [];
  for (const part of chunks(pairs, batchSize)) {
    tf.tidy(() => {
      const r = pairRewards(model, tokenizer, part);
      chosen.push(...r.chosen.dataSync());
      rejected.push(...r.rejected.dataSync());
    });
  }
  const n = Math.max(1, chosen.length);
  const d = chosen.map((c, i) => c - rejected[i]);
  const all = [...chosen, ...rejected];
  const rewardMean = all.reduce((s, v) => s + v, 0) / Math.max(1, all.length);
  return {
    accuracy: d.reduce((s, v) => s + (v > 0 ? 1 : v === 0 ? 0.5 : 0), 0) / n,
    margin: d.reduce((s, v) => s + v, 0) / n,
    loss: d.reduce((s, v) => s + softplus(-v), 0) / n,
    rewardMean,
    rewardStd: Math.sqrt(all.reduce((s, v) => s + (v - rewardMean) ** 2, 0) / Math.max(1, all.length)),
  };
}

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** Pairs by ranking; a pair without a group is a ranking of its own. */
export function groupPairs(pairs: readonly PreferencePair[]): PreferencePair[][] {
  const groups = new Map<unknown, PreferencePair[]>();
  pairs.forEach((p, i) => {
    const key = p.group ?? `\u0000${i}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(p);
  });
  return [...groups.values()];
}

/** Whole rankings packed into batches of at least batchSize pairs (the last may be smaller). */
export function packRankings(groups: readonly PreferencePair[][], batchSize: number): PreferencePair[][][] {
  const batches: PreferencePair[][][] = [];
  let current: PreferencePair[][] = [];
  let n = 0;
  for (const g of groups) {
    current.push(g);
    n += g.length;
    if (n >= batchSize) {
      batches.push(current);
      [current, n] = [[], 0];
    }
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * Bradley–Terry loss of a batch of rankings: each ranking weighs the same (the mean over its
 * pairs), plus the centring penalty. Returns the loss and the batch's pair accuracy.
 */
function batchLoss(model: CausalLM, tok: Tokenizer, groups: readonly PreferencePair[][], c: RewardConfig, seed: number): { loss: tf.Scalar; accuracy: tf.Scalar } {
  const pairs = groups.flat();
  const weights = tf.tensor1d(groups.flatMap((g) => g.map(() => 1 / (g.length * groups.length))));
  const { chosen, rejected } = pairRewards(model, tok, pairs, { training: true, seed });
  const d = chosen.sub(rejected);
  let perPair = tf.softplus(d.neg()); // −log σ(d)
  if (c.centerCoef > 0) perPair = perPair.add(chosen.add(rejected).square().mul(c.centerCoef));
  return { loss: perPair.mul(weights).sum() as tf.Scalar, accuracy: d.greater(0).toFloat().mean() as tf.Scalar };
}

/** Seeded split of the pairs by ranking: whole rankings are held out. Needs two rankings at least. */
export function holdOutRankings(pairs: readonly PreferencePair[], valFraction: number, seed: number): { train: PreferencePair[][]; val: PreferencePair[] } {
  const groups = groupPairs(pairs);
  requireData(groups.length, 'rankings (groups of preference pairs)', 2);
  const split = holdOut(groups, Math.max(valFraction, 1e-9), seed);
  return { train: split.train, val: split.val.flat() };
}

export async function trainRewardModel(opts: RewardOptions): Promise<RewardResult> {
  const c: RewardConfig = { ...REWARD_DEFAULTS, ...opts.config };
  checkConfig(c, { ...EPOCH_RULES, centerCoef: 'nonNegative' }, REWARD_DEFAULTS);
  const { train, val } = holdOutRankings(opts.pairs, c.valFraction, c.seed);
  const T = opts.model.config.blockSize;
  const footprint = {
    rows: 2 * Math.max(...packRankings(train, c.batchSize).map((b) => b.flat().length)),
    rowsPerItem: 2,
    lengths: (t: Tokenizer) => opts.pairs.flatMap((p) => [p.chosen, p.rejected].map((a) => renderAnswer(t, p.prompt, a, T, 'end').ids.length)),
  };
  const { model, tokenizer: tok } = fineTuneStart(opts.model, opts.tokenizer, { lora: c.lora, head: true, footprint });
  const run = await trainEpochs({
    model,
    config: c,
    options: opts,
    lossName: 'reward-model loss',
    batches: (epoch) => packRankings(shuffled(train, c.seed + epoch), c.batchSize),
    loss: (rankings, seed) => {
      const { loss, accuracy } = batchLoss(model, tok, rankings, c, seed);
      return { loss, stats: { accuracy: accuracy.dataSync()[0], pairs: rankings.flat().length } };
    },
    evaluate: () => evaluateRewardModel(model, tok, val),
    progress: (p, { stats, ms, evaluated: e }) => ({
      ...p, trainAccuracy: stats.accuracy, valLoss: e?.loss, valAccuracy: e?.accuracy, valMargin: e?.margin, pairsPerSecond: (stats.pairs * 1000) / ms,
    }),
  });
  return { model, tokenizer: tok, steps: run.steps, trainPairs: opts.pairs.length - val.length, valPairs: val.length, initial: run.initial, final: run.final, evals: run.evals };
}
