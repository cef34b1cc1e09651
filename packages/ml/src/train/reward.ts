// Reward model: the SFT model's backbone plus a scalar head, trained on raters' comparisons with
// the pairwise Bradley–Terry loss −log σ(r_chosen − r_rejected). After InstructGPT, the pairs of
// one ranking stay together in a batch and count as one example (a ranking of K answers gives
// K(K−1)/2 correlated pairs; shuffled apart they overfit), and each distinct answer in a batch is
// scored once. The reward of an answer is the head's output on its final <|end|> token.
import * as tf from '@tensorflow/tfjs';
import type { GPT, LoraConfig } from '../gpt.ts';
import { AdamW, clipByGlobalNorm, learningRate } from '../optim.ts';
import type { Tokenizer } from '../tokenizer.ts';
import {
  checkAborted, checkConfig, checkFinite, chunks, cloneModel, holdOut, lastHeadValues, padSequences, renderAnswer, requireData, shuffled,
  yieldToEventLoop, type PreferencePair, type Prompt,
} from './common.ts';

export interface RewardConfig {
  /** null: the whole model trains; { rank, alpha }: LoRA adapters and the head train, the rest is frozen. */
  lora: LoraConfig | null;
  /** InstructGPT trains its reward model for one epoch: more overfits. */
  epochs: number;
  /** Pairs per step, filled with whole rankings (a ranking larger than this is a step alone). */
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  /** λ of the penalty λ·(r_chosen + r_rejected)², which keeps rewards centred on 0 (0 = off). */
  centerCoef: number;
  /** Share of the rankings (groups) held out to measure accuracy. */
  valFraction: number;
  evalEvery: number;
  seed: number;
}

export const REWARD_DEFAULTS: RewardConfig = {
  lora: null,
  epochs: 1,
  batchSize: 16,
  lr: 1e-4,
  minLr: 1e-5,
  warmupSteps: 10,
  weightDecay: 0,
  gradClip: 1,
  centerCoef: 0.001,
  valFraction: 0.1,
  evalEvery: 50,
  seed: 1337,
};

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

export interface RewardProgress {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  valMargin?: number;
  pairsPerSecond: number;
  etaSeconds: number;
}

export interface RewardOptions {
  /** The SFT model whose backbone the reward model starts from; it is copied, never changed. */
  model: GPT;
  tokenizer: Tokenizer;
  pairs: readonly PreferencePair[];
  config?: Partial<RewardConfig>;
  onProgress?: (p: RewardProgress) => void;
  signal?: AbortSignal;
}

export interface RewardResult {
  /** The reward model: a GPT with its scalar head attached (score answers with scoreReward). */
  model: GPT;
  steps: number;
  trainPairs: number;
  valPairs: number;
  /** Held-out metrics before training (head at zero: every pair ties) and after. */
  initial: RewardEval;
  final: RewardEval;
  evals: ({ step: number; trainLoss: number } & RewardEval)[];
}

/** Rewards of answers (prompt + answer each), one forward per batch. */
function answerRewards(model: GPT, tok: Tokenizer, items: readonly { prompt: Prompt; answer: string }[], opts: { training?: boolean; seed?: number } = {}): tf.Tensor1D {
  const seqs = items.map((it) => renderAnswer(tok, it.prompt, it.answer, model.config.blockSize, 'end').ids);
  const { x, last } = padSequences(seqs, tok.eotId);
  const { head } = model.forward(x, { head: true, logits: false, ...opts });
  return lastHeadValues(head!, last);
}

/** Rewards of chosen and rejected answers; an answer that appears in several pairs is scored once. */
function pairRewards(model: GPT, tok: Tokenizer, pairs: readonly PreferencePair[], opts: { training?: boolean; seed?: number } = {}): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
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
export function scoreReward(model: GPT, tokenizer: Tokenizer, prompt: Prompt, answer: string): number {
  return scoreRewards(model, tokenizer, [{ prompt, answer }])[0];
}

/** Scores of many answers, in batches. */
export function scoreRewards(model: GPT, tokenizer: Tokenizer, items: readonly { prompt: Prompt; answer: string }[], batchSize = 16): number[] {
  return chunks(items, batchSize).flatMap((part) => Array.from(tf.tidy(() => answerRewards(model, tokenizer, part).dataSync())));
}

/** A reward function for PPO or evaluation, backed by a reward model. */
export function rewardModelFn(model: GPT, tokenizer: Tokenizer): (prompt: Prompt, answer: string) => number {
  return (prompt, answer) => scoreReward(model, tokenizer, prompt, answer);
}

/** Accuracy, margin and loss of a reward model on held-out pairs. */
export function evaluateRewardModel(model: GPT, tokenizer: Tokenizer, pairs: readonly PreferencePair[], batchSize = 16): RewardEval {
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
function batchLoss(model: GPT, tok: Tokenizer, groups: readonly PreferencePair[][], c: RewardConfig, seed: number): { loss: tf.Scalar; accuracy: tf.Scalar } {
  const pairs = groups.flat();
  const weights = tf.tensor1d(groups.flatMap((g) => g.map(() => 1 / (g.length * groups.length))));
  const { chosen, rejected } = pairRewards(model, tok, pairs, { training: true, seed });
  const d = chosen.sub(rejected);
  let perPair = tf.softplus(d.neg()); // −log σ(d)
  if (c.centerCoef > 0) perPair = perPair.add(chosen.add(rejected).square().mul(c.centerCoef));
  return { loss: perPair.mul(weights).sum() as tf.Scalar, accuracy: d.greater(0).toFloat().mean() as tf.Scalar };
}

export async function trainRewardModel(opts: RewardOptions): Promise<RewardResult> {
  const c: RewardConfig = { ...REWARD_DEFAULTS, ...opts.config };
  checkConfig(c, { epochs: 'positiveInt', batchSize: 'positiveInt', lr: 'positive', minLr: 'nonNegative', warmupSteps: 'nonNegativeInt', weightDecay: 'nonNegative', gradClip: 'nonNegative', centerCoef: 'nonNegative', valFraction: 'fraction', evalEvery: 'positiveInt' }, REWARD_DEFAULTS);
  const tok = opts.tokenizer;
  const groups = groupPairs(opts.pairs);
  requireData(groups.length, 'rankings (groups of preference pairs)', 2);
  const split = holdOut(groups, Math.max(c.valFraction, 1e-9), c.seed);
  const val = split.val.flat();

  const model = cloneModel(opts.model, { merge: true });
  model.attachHead();
  if (c.lora) model.addLora(c.lora);
  const optimizer = new AdamW({ weightDecay: c.weightDecay });
  const epochBatches = (epoch: number) => packRankings(shuffled(split.train, c.seed + epoch), c.batchSize);
  const steps = c.epochs * epochBatches(0).length;
  const schedule = { lr: c.lr, minLr: Math.min(c.minLr, c.lr), warmupSteps: c.warmupSteps, steps };

  const initial = evaluateRewardModel(model, tok, val);
  let final = initial;
  const evals: RewardResult['evals'] = [];
  let step = 0;
  let emaMs = 0;
  let lossEma = NaN;
  try {
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      for (const batch of epochBatches(epoch)) {
        checkAborted(opts.signal, step);
        const lr = learningRate(step, schedule);
        const t0 = performance.now();
        let accuracy = NaN;
        const loss = tf.tidy(() => {
          const { loss, grads } = model.gradients(() => {
            const out = batchLoss(model, tok, batch, c, c.seed + step);
            accuracy = out.accuracy.dataSync()[0]; // read here: the forward pass's tensors are freed before the backward pass
            return out.loss;
          });
          const value = loss.dataSync()[0];
          checkFinite(value, 'reward-model loss', step, lr);
          optimizer.apply(model.params, clipByGlobalNorm(grads, c.gradClip).grads, lr);
          return value;
        });
        const ms = performance.now() - t0;
        emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
        lossEma = Number.isNaN(lossEma) ? loss : 0.9 * lossEma + 0.1 * loss;
        step++;
        const progress: RewardProgress = {
          phase: 'train', step, steps, epoch, lr, trainLoss: loss, trainAccuracy: accuracy,
          pairsPerSecond: (batch.flat().length * 1000) / ms, etaSeconds: ((steps - step) * emaMs) / 1000,
        };
        if (step % c.evalEvery === 0 || step === steps) {
          const e = (final = evaluateRewardModel(model, tok, val));
          evals.push({ step, trainLoss: lossEma, ...e });
          Object.assign(progress, { phase: 'eval', valLoss: e.loss, valAccuracy: e.accuracy, valMargin: e.margin });
        }
        opts.onProgress?.(progress);
        await yieldToEventLoop();
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
  return { model, steps: step, trainPairs: opts.pairs.length - val.length, valPairs: val.length, initial, final, evals };
}
