// Direct Preference Optimization (Rafailov et al. 2023): the policy learns straight from
// preference pairs, with no reward model and no sampling. With ρ(y) = log π(y|x) − log π_ref(y|x)
// the log-ratio of an answer against the frozen SFT reference, the loss of a pair is
//   −log σ(β·(ρ(chosen) − ρ(rejected))).
// Logged: the log-ratio margin ρ(chosen) − ρ(rejected) and the share of pairs where it is > 0.
import * as tf from '@tensorflow/tfjs';
import type { GPT, LoraConfig } from '../gpt.ts';
import { AdamW, clipByGlobalNorm, learningRate } from '../optim.ts';
import type { Tokenizer } from '../tokenizer.ts';
import {
  answerLogProbs, checkAborted, checkConfig, checkFinite, chunks, cloneModel, holdOut, padBatch, renderAnswer, requireData, shuffled,
  yieldToEventLoop, type PreferencePair,
} from './common.ts';
import { groupPairs } from './reward.ts';

export interface DpoConfig {
  /** null: the whole policy trains; { rank, alpha }: only LoRA adapters train. */
  lora: LoraConfig | null;
  /** β: how strongly the policy is held to the reference (higher = closer). */
  beta: number;
  epochs: number;
  /** Pairs per step. */
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  /** Share of the rankings (groups) held out for validation. */
  valFraction: number;
  evalEvery: number;
  seed: number;
}

export const DPO_DEFAULTS: DpoConfig = {
  lora: null,
  beta: 0.1,
  epochs: 2,
  batchSize: 8,
  lr: 5e-5,
  minLr: 5e-6,
  warmupSteps: 10,
  weightDecay: 0,
  gradClip: 1,
  valFraction: 0.1,
  evalEvery: 50,
  seed: 1337,
};

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

export interface DpoProgress {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  margin: number;
  accuracy: number;
  valLoss?: number;
  valMargin?: number;
  valAccuracy?: number;
  pairsPerSecond: number;
  etaSeconds: number;
}

export interface DpoOptions {
  /** The SFT model: the policy starts as its copy, and it stays frozen as the reference. */
  policy: GPT;
  tokenizer: Tokenizer;
  pairs: readonly PreferencePair[];
  config?: Partial<DpoConfig>;
  onProgress?: (p: DpoProgress) => void;
  signal?: AbortSignal;
}

export interface DpoResult {
  /** The trained policy (with LoRA: adapters attached, not merged). */
  policy: GPT;
  steps: number;
  trainPairs: number;
  valPairs: number;
  /** Held-out metrics before training (the reference: margin 0) and after. */
  initial: DpoEval;
  final: DpoEval;
  evals: ({ step: number; trainLoss: number } & DpoEval)[];
}

/** Chosen answers then rejected answers as one batch of 2·n rows. Inside tf.tidy. */
function pairBatch(tok: Tokenizer, pairs: readonly PreferencePair[], blockSize: number) {
  const rows = [...pairs.map((p) => renderAnswer(tok, p.prompt, p.chosen, blockSize + 1)), ...pairs.map((p) => renderAnswer(tok, p.prompt, p.rejected, blockSize + 1))];
  return padBatch(rows, tok.eotId);
}

/** log π(chosen) and log π(rejected) of each pair, [n] each. */
function pairLogProbs(model: GPT, tok: Tokenizer, pairs: readonly PreferencePair[]): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const lp = answerLogProbs(model, pairBatch(tok, pairs, model.config.blockSize));
  const n = pairs.length;
  return { chosen: lp.slice(0, n), rejected: lp.slice(n, n) };
}

/** The reference's log-probabilities of every pair, computed once. */
function referenceLogProbs(reference: GPT, tok: Tokenizer, pairs: readonly PreferencePair[]): Map<PreferencePair, [number, number]> {
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
function logRatios(model: GPT, tok: Tokenizer, pairs: readonly PreferencePair[], ref: Map<PreferencePair, [number, number]>) {
  const { chosen, rejected } = pairLogProbs(model, tok, pairs);
  const rc = chosen.sub(tf.tensor1d(pairs.map((p) => ref.get(p)![0])));
  const rr = rejected.sub(tf.tensor1d(pairs.map((p) => ref.get(p)![1])));
  return { rc, rr, margin: rc.sub(rr) };
}

function evaluate(model: GPT, tok: Tokenizer, pairs: readonly PreferencePair[], ref: Map<PreferencePair, [number, number]>, beta: number): DpoEval {
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
  checkConfig(c, { beta: 'positive', epochs: 'positiveInt', batchSize: 'positiveInt', lr: 'positive', minLr: 'nonNegative', warmupSteps: 'nonNegativeInt', weightDecay: 'nonNegative', gradClip: 'nonNegative', valFraction: 'fraction', evalEvery: 'positiveInt' }, DPO_DEFAULTS);
  const tok = opts.tokenizer;
  const groups = groupPairs(opts.pairs);
  requireData(groups.length, 'rankings (groups of preference pairs)', 2);
  const split = holdOut(groups, Math.max(c.valFraction, 1e-9), c.seed);
  const [train, val] = [split.train.flat(), split.val.flat()];

  const reference = opts.policy;
  const ref = referenceLogProbs(reference, tok, opts.pairs);
  const policy = cloneModel(reference, { merge: true });
  if (c.lora) policy.addLora(c.lora);
  const optimizer = new AdamW({ weightDecay: c.weightDecay });
  const steps = c.epochs * Math.ceil(train.length / c.batchSize);
  const schedule = { lr: c.lr, minLr: Math.min(c.minLr, c.lr), warmupSteps: c.warmupSteps, steps };

  const initial = evaluate(policy, tok, val, ref, c.beta);
  let final = initial;
  const evals: DpoResult['evals'] = [];
  let step = 0;
  let emaMs = 0;
  let lossEma = NaN;
  try {
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      for (const part of chunks(shuffled(train, c.seed + epoch), c.batchSize)) {
        checkAborted(opts.signal, step);
        const lr = learningRate(step, schedule);
        const t0 = performance.now();
        let margin = NaN;
        let accuracy = NaN;
        const loss = tf.tidy(() => {
          const { loss, grads } = policy.gradients(() => {
            const m = logRatios(policy, tok, part, ref).margin;
            [margin, accuracy] = [m.mean().dataSync()[0], m.sign().add(1).mul(0.5).mean().dataSync()[0]];
            return tf.softplus(m.mul(-c.beta)).mean() as tf.Scalar; // −log σ(β·margin)
          });
          const value = loss.dataSync()[0];
          checkFinite(value, 'DPO loss', step, lr);
          optimizer.apply(policy.params, clipByGlobalNorm(grads, c.gradClip).grads, lr);
          return value;
        });
        const ms = performance.now() - t0;
        emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
        lossEma = Number.isNaN(lossEma) ? loss : 0.9 * lossEma + 0.1 * loss;
        step++;
        const progress: DpoProgress = {
          phase: 'train', step, steps, epoch, lr, trainLoss: loss, margin, accuracy,
          pairsPerSecond: (part.length * 1000) / ms, etaSeconds: ((steps - step) * emaMs) / 1000,
        };
        if (step % c.evalEvery === 0 || step === steps) {
          const e = (final = evaluate(policy, tok, val, ref, c.beta));
          evals.push({ step, trainLoss: lossEma, ...e });
          Object.assign(progress, { phase: 'eval', valLoss: e.loss, valMargin: e.margin, valAccuracy: e.accuracy });
        }
        opts.onProgress?.(progress);
        await yieldToEventLoop();
      }
    }
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
  return { policy, steps: step, trainPairs: train.length, valPairs: val.length, initial, final, evals };
}
