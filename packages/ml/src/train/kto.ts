// Kahneman–Tversky Optimization (Ethayarajh et al. 2024), as TRL's KTOTrainer: the policy learns
// from unpaired answers, each marked desirable or undesirable (a thumbs up or down), with no reward
// model and no sampling. With ρ(y) = log π(y|x) − log π_ref(y|x) against the frozen SFT reference and
// z the batch's estimate of KL(π‖π_ref) (ρ of mismatched prompt/answer pairs, floored at 0, no gradient):
//   desirable:   λ_D · (1 − σ(β·(ρ − z)))        undesirable:   λ_U · (1 − σ(β·(z − ρ)))
// The mismatched pair of each example is fixed once (its prompt with the next example's answer), so
// the reference's log-probabilities are all read once, before the policy trains.
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from '../models/index.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  answerLogProbs, checkConfig, chunks, EPOCH_DEFAULTS, EPOCH_RULES, fineTuneStart, holdOut, padBatch, renderAnswer, requireData, shuffled, trainEpochs,
  type EpochConfig, type EvalRecords, type Prompt, type StepProgress, type TrainerOptions,
} from './common.ts';

/** One unpaired example, TRL's unpaired preference format: `label` true for a desirable answer. */
export interface UnpairedExample {
  prompt: Prompt;
  completion: string;
  label: boolean;
}

/** batchSize counts examples. */
export interface KtoConfig extends EpochConfig {
  /** β: how strongly the policy is held to the reference. */
  beta: number;
  /** λ_D and λ_U: weights of desirable and undesirable examples (raise the rarer side's). */
  desirableWeight: number;
  undesirableWeight: number;
}

/** The one block of defaults: packages/shared's KtoHyperparamsSchema parses {} to it (tests/shared checks). */
export const KTO_DEFAULTS: KtoConfig = { ...EPOCH_DEFAULTS, epochs: 2, lr: 5e-5, minLr: 5e-6, beta: 0.1, desirableWeight: 1, undesirableWeight: 1 };

export interface KtoEval {
  loss: number;
  /** Mean ρ of desirable and of undesirable answers (0 for the reference itself). */
  desirableLogRatio: number;
  undesirableLogRatio: number;
  /** desirableLogRatio − undesirableLogRatio. */
  margin: number;
  /** z: the KL estimate (mismatched pairs' mean ρ, floored at 0). */
  kl: number;
}

export interface KtoProgress extends StepProgress {
  margin: number;
  kl: number;
  valLoss?: number;
  valMargin?: number;
  valDesirable?: number;
  valUndesirable?: number;
  examplesPerSecond: number;
}

export interface KtoOptions extends TrainerOptions<KtoConfig, KtoProgress> {
  /** The SFT model: the policy starts as its copy, and it stays frozen as the reference. */
  policy: CausalLM;
  examples: readonly UnpairedExample[];
}

export interface KtoResult {
  policy: CausalLM;
  tokenizer: Tokenizer;
  steps: number;
  trainExamples: number;
  valExamples: number;
  desirable: number;
  undesirable: number;
  initial: KtoEval;
  final: KtoEval;
  evals: EvalRecords<KtoEval>;
}

/** An example with its mismatched pair (its prompt, another example's answer) and the reference's log-probabilities of both. */
interface Item extends UnpairedExample {
  mismatched: string;
  ref: number;
  refMismatched: number;
}

/** log π of each item's answer and of its mismatched answer, [n] each. */
function itemLogProbs(model: CausalLM, tok: Tokenizer, items: readonly Omit<Item, 'ref' | 'refMismatched'>[]): { own: tf.Tensor1D; mismatched: tf.Tensor1D } {
  const T = model.config.blockSize + 1;
  const rows = [...items.map((e) => renderAnswer(tok, e.prompt, e.completion, T)), ...items.map((e) => renderAnswer(tok, e.prompt, e.mismatched, T))];
  const lp = answerLogProbs(model, padBatch(rows, tok.eotId));
  return { own: lp.slice(0, items.length), mismatched: lp.slice(items.length, items.length) };
}

/** Pairs each example of a split with the next one's answer and reads the reference's log-probabilities. */
function withReference(reference: CausalLM, tok: Tokenizer, examples: readonly UnpairedExample[]): Item[] {
  const items = examples.map((e, i) => ({ ...e, mismatched: examples[(i + 1) % examples.length].completion, ref: 0, refMismatched: 0 }));
  for (const part of chunks(items, 16)) {
    tf.tidy(() => {
      const { own, mismatched } = itemLogProbs(reference, tok, part);
      const [o, m] = [own.dataSync(), mismatched.dataSync()];
      part.forEach((it, i) => Object.assign(it, { ref: o[i], refMismatched: m[i] }));
    });
  }
  return items;
}

/** Per-example losses (weighted), log-ratios and the batch's z; inside tf.tidy or gradients. */
function ktoTerms(model: CausalLM, tok: Tokenizer, items: readonly Item[], c: KtoConfig) {
  const { own, mismatched } = itemLogProbs(model, tok, items);
  const rho = own.sub(tf.tensor1d(items.map((it) => it.ref)));
  // z carries no gradient, as in the paper and TRL
  const z = Math.max(0, mismatched.sub(tf.tensor1d(items.map((it) => it.refMismatched))).mean().dataSync()[0]);
  const label = tf.tensor1d(items.map((it) => (it.label ? 1 : -1)));
  const weight = tf.tensor1d(items.map((it) => (it.label ? c.desirableWeight : c.undesirableWeight)));
  // 1 − σ(β·(ρ − z)) for desirable, 1 − σ(β·(z − ρ)) for undesirable
  const losses = tf.sigmoid(rho.sub(z).mul(label).mul(c.beta)).neg().add(1).mul(weight);
  return { losses, rho, z };
}

function evaluate(model: CausalLM, tok: Tokenizer, items: readonly Item[], c: KtoConfig): KtoEval {
  let loss = 0;
  let kl = 0;
  const [d, u] = [[] as number[], [] as number[]];
  for (const part of chunks(items, 16)) {
    tf.tidy(() => {
      const { losses, rho, z } = ktoTerms(model, tok, part, c);
      loss += losses.sum().dataSync()[0];
      kl += z * part.length;
      rho.dataSync().forEach((r, i) => (part[i].label ? d : u).push(r));
    });
  }
  const n = Math.max(1, items.length);
  const m = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);
  return { loss: loss / n, desirableLogRatio: m(d), undesirableLogRatio: m(u), margin: m(d) - m(u), kl: kl / n };
}

export async function trainKto(opts: KtoOptions): Promise<KtoResult> {
  const c: KtoConfig = { ...KTO_DEFAULTS, ...opts.config };
  checkConfig(c, { ...EPOCH_RULES, beta: 'positive', desirableWeight: 'positive', undesirableWeight: 'positive' }, KTO_DEFAULTS);
  const desirable = opts.examples.filter((e) => e.label).length;
  requireData(desirable, 'desirable examples');
  requireData(opts.examples.length - desirable, 'undesirable examples');
  const split = holdOut(opts.examples, Math.max(c.valFraction, 1e-9), c.seed);

  const T = opts.policy.config.blockSize;
  const footprint = {
    rows: 2 * Math.min(c.batchSize, split.train.length),
    rowsPerItem: 2,
    lengths: (t: Tokenizer) => opts.examples.map((e) => renderAnswer(t, e.prompt, e.completion, T + 1).ids.length - 1),
  };
  // The policy starts as the reference, so the reference's log-probabilities are read from it before it trains.
  const { model: policy, tokenizer: tok } = fineTuneStart(opts.policy, opts.tokenizer, { lora: c.lora, footprint });
  const [train, val] = [withReference(policy, tok, split.train), withReference(policy, tok, split.val)];
  const run = await trainEpochs({
    model: policy,
    config: c,
    options: opts,
    lossName: 'KTO loss',
    batches: (epoch) => chunks(shuffled(train, c.seed + epoch), c.batchSize),
    loss: (items) => {
      const { losses, rho, z } = ktoTerms(policy, tok, items, c);
      const r = rho.dataSync();
      const side = (label: boolean) => {
        const xs = items.flatMap((it, i) => (it.label === label ? [r[i]] : []));
        return xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : 0;
      };
      return { loss: losses.mean() as tf.Scalar, stats: { margin: side(true) - side(false), kl: z, examples: items.length } };
    },
    evaluate: () => evaluate(policy, tok, val, c),
    progress: (p, { stats, ms, evaluated: e }) => ({
      ...p, margin: stats.margin, kl: stats.kl, valLoss: e?.loss, valMargin: e?.margin, valDesirable: e?.desirableLogRatio, valUndesirable: e?.undesirableLogRatio,
      examplesPerSecond: (stats.examples * 1000) / ms,
    }),
  });
  return {
    policy, tokenizer: tok, steps: run.steps, trainExamples: train.length, valExamples: val.length, desirable, undesirable: opts.examples.length - desirable,
    initial: run.initial, final: run.final, evals: run.evals,
  };
}
