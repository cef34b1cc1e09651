// Direct Preference Optimization (Rafailov et al. 2023): the policy learns straight from
// preference pairs, with no reward model and no sampling. With ρ(y) = log π(y|x) − log π_ref(y|x)
// the log-ratio of an answer against the frozen SFT reference, the loss of a pair is
//   −log σ(β·(ρ(chosen) − ρ(rejected))).
// Logged: the log-ratio margin ρ(chosen) − ρ(rejected) and the share of pairs where it is > 0.
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  answerLogProbs, checkConfig, chunks, EPOCH_DEFAULTS, EPOCH_RULES, fineTuneStart, padBatch, renderAnswer, shuffled,
  trainEpochs, type EpochConfig, type PairTrainingResult, type PreferencePair, type StepProgress, type TrainerOptions,
} from './common.ts';
import { holdOutRankings } from './reward.ts';

/** batchSize counts pairs; valFraction holds out whole rankings. */
export interface DpoConfig extends EpochConfig {
  /** β: how strongly the policy is held to the reference (higher = closer). */
  beta: number;
}

export const DPO_DEFAULTS: DpoConfig = { ...EPOCH_DEFAULTS, epochs: 2, lr: 5e-5, minLr: 5e-6, beta: 0.1 };

export interface DpoEval {
  loss: number;
  /** Mean of ρ(chosen) − ρ(rejected), nats (0 for the reference itself). */
  margin: number;
  /** Share of pairs with a positive margin (a tie counts half). */
  accuracy: number;
  /** Mean ρ(chosen) and ρ(rejected): how the likelihoods moved from the reference. */
  chosenLogRatio: number;
  rejectedLogRatio: number;
}

export interface DpoProgress extends StepProgress {
  margin: number;
  accuracy: number;
  valLoss?: number;
  valMargin?: number;
  valAccuracy?: number;
  pairsPerSecond: number;
}

export interface DpoOptions extends TrainerOptions<DpoConfig, DpoProgress> {
  /** The SFT model: the policy starts as its copy, and it stays frozen as the reference. */
  policy: CausalLM;
  pairs: readonly PreferencePair[];
}

/** initial: the reference itself, margin 0. */
export interface DpoResult extends PairTrainingResult<DpoEval> {
  /** The trained policy (with LoRA: adapters attached, not merged). */
  policy: CausalLM;
  /** Its tokenizer: the one given, with the chat tokens added when the policy had no chat format. */
  tokenizer: Tokenizer;
}

/** Chosen answers then rejected answers as one batch of 2·n rows. Inside tf.tidy. */
function pairBatch(tok: Tokenizer, pairs: readonly PreferencePair[], blockSize: number) {
  const rows = [...pairs.map((p) => renderAnswer(tok, p.prompt, p.chosen, blockSize + 1)), ...pairs.map((p) => renderAnswer(tok, p.prompt, p.rejected, blockSize + 1))];
  return padBatch(rows, tok.eotId);
}

/** log π(chosen) and log π(rejected) of each pair, [n] each. */
function pairLogProbs(model: CausalLM, tok: Tokenizer, pairs: readonly PreferencePair[]): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const lp = answerLogProbs(model, pairBatch(tok, pairs, model.config.blockSize));
  const n = pairs.length;
  return { chosen: lp.slice(0, n), rejected: lp.slice(n, n) };
}

/** The reference's log-probabilities of every pair, computed once. */
function referenceLogProbs(reference: CausalLM, tok: Tokenizer, pairs: readonly PreferencePair[]): Map<PreferencePair, [number, number]> {
  const out = new Map<PreferencePair, [number, number]>();
  for (const part of chunks(pairs, 16)) {
    tf.tidy(() => {
      const { chosen, rejected } = pairLogProbs(reference, tok, part);
      const [c, r] = [chosen.dataSync(), rejected.dataSync()];
      part.forEach((p, i) => out.set(p, [c[i], r[i]]));
    });
  }
  return out;
}

/** Per-pair log-ratio margins ρ(chosen) − ρ(rejected) and log-ratios, as tensors [n]. */
function logRatios(model: CausalLM, tok: Tokenizer, pairs: readonly PreferencePair[], ref: Map<PreferencePair, [number, number]>) {
  const { chosen, rejected } = pairLogProbs(model, tok, pairs);
  const rc = chosen.sub(tf.tensor1d(pairs.map((p) => ref.get(p)![0])));
  const rr = rejected.sub(tf.tensor1d(pairs.map((p) => ref.get(p)![1])));
  return { rc, rr, margin: rc.sub(rr) };
}

function evaluate(model: CausalLM, tok: Tokenizer, pairs: readonly PreferencePair[], ref: Map<PreferencePair, [number, number]>, beta: number): DpoEval {
  const sums = { loss: 0, margin: 0, accuracy: 0, chosenLogRatio: 0, rejectedLogRatio: 0 };
  for (const part of chunks(pairs, 16)) {
    tf.tidy(() => {
      const { rc, rr, margin } = logRatios(model, tok, part, ref);
      sums.loss += tf.softplus(margin.mul(-beta)).sum().dataSync()[0];
      sums.margin += margin.sum().dataSync()[0];
      sums.accuracy += margin.sign().add(1).mul(0.5).sum().dataSync()[0]; // 1, ½ or 0 per pair
      sums.chosenLogRatio += rc.sum().dataSync()[0];
      sums.rejectedLogRatio += rr.sum().dataSync()[0];
    });
  }
  const n = Math.max(1, pairs.length);
  return { loss: sums.loss / n, margin: sums.margin / n, accuracy: sums.accuracy / n, chosenLogRatio: sums.chosenLogRatio / n, rejectedLogRatio: sums.rejectedLogRatio / n };
}

export async function trainDpo(opts: DpoOptions): Promise<DpoResult> {
  const c: DpoConfig = { ...DPO_DEFAULTS, ...opts.config };
  checkConfig(c, { ...EPOCH_RULES, beta: 'positive' }, DPO_DEFAULTS);
  const split = holdOutRankings(opts.pairs, c.valFraction, c.seed);
  const [train, val] = [split.train.flat(), split.val];

  // The policy starts as the reference (with the chat tokens when it had no chat format), so the
  // reference's log-probabilities are read from it before it trains (new adapters start at zero).
  const T = opts.policy.config.blockSize;
  const footprint = {
    rows: 2 * Math.min(c.batchSize, train.length),
    rowsPerItem: 2,
    lengths: (t: Tokenizer) => opts.pairs.flatMap((p) => [p.chosen, p.rejected].map((a) => renderAnswer(t, p.prompt, a, T + 1).ids.length - 1)),
  };
  const { model: policy, tokenizer: tok } = fineTuneStart(opts.policy, opts.tokenizer, { lora: c.lora, footprint });
  const ref = referenceLogProbs(policy, tok, opts.pairs);
  const run = await trainEpochs({
    model: policy,
    config: c,
    options: opts,
    lossName: 'DPO loss',
    batches: (epoch) => chunks(shuffled(train, c.seed + epoch), c.batchSize),
    loss: (pairs) => {
      const m = logRatios(policy, tok, pairs, ref).margin;
      const stats = { margin: m.mean().dataSync()[0], accuracy: m.sign().add(1).mul(0.5).mean().dataSync()[0], pairs: pairs.length };
      return { loss: tf.softplus(m.mul(-c.beta)).mean() as tf.Scalar, stats }; // −log σ(β·margin)
    },
    evaluate: () => evaluate(policy, tok, val, ref, c.beta),
    progress: (p, { stats, ms, evaluated: e }) => ({
      ...p, margin: stats.margin, accuracy: stats.accuracy, valLoss: e?.loss, valMargin: e?.margin, valAccuracy: e?.accuracy, pairsPerSecond: (stats.pairs * 1000) / ms,
    }),
  });
  return { policy, tokenizer: tok, steps: run.steps, trainPairs: train.length, valPairs: val.length, initial: run.initial, final: run.final, evals: run.evals };
}
