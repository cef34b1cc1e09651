// Best-of-N rejection sampling fine-tuning, as in Llama 2's RLHF (Touvron et al. 2023, §3.2.3):
// each round, N answers are sampled from the policy for every training prompt, the reward model
// keeps the best one per prompt, and the policy is fine-tuned on those (the SFT loss, on the answer's
// tokens). Rounds repeat from the policy the last round left. After each round the policy's greedy
// answers to the evaluation prompts are scored (and by a gold reward, when given), with its sampled
// KL to the starting (SFT) model.
// All rounds are one epoch loop (one learning-rate schedule and optimizer): a round's answers are
// sampled when its first epoch starts, from the policy the previous round left, and kept in the
// checkpoint, so a resumed round trains on the answers it sampled before.
import type { CausalLM } from '../models/index.ts';
import { TrainingError } from '../pretrain.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  checkConfig, chunks, EPOCH_DEFAULTS, EPOCH_RULES, fineTuneStart, renderAnswer, requireData, shuffled, trainEpochs,
  type EpochConfig, type Prompt, type PromptAnswer, type StepProgress, type TrainerOptions,
} from './common.ts';
import { mean, sampleRollouts, sampledKl, scoreAnswers, type RewardFn } from './rollouts.ts';
import { sftBatch, sftLoss } from './sft.ts';

/** The fine-tune of each round is SFT's epoch loop, without a held-out split (rounds are judged by reward). */
export interface BestOfNConfig extends Omit<EpochConfig, 'valFraction' | 'evalEvery'> {
  rounds: number;
  /** N: answers sampled per prompt, of which the reward model keeps one. */
  samplesPerPrompt: number;
  maxAnswerTokens: number;
  temperature: number;
  /** Prompts sampled per round (0: every training prompt). */
  promptsPerRound: number;
}

/** The one block of defaults: packages/shared's BestOfNHyperparamsSchema parses {} to it (tests/shared checks). */
export const BEST_OF_N_DEFAULTS: BestOfNConfig = {
  ...withoutSplit(EPOCH_DEFAULTS), rounds: 1, samplesPerPrompt: 8, maxAnswerTokens: 32, temperature: 1, promptsPerRound: 0, epochs: 2, lr: 1e-4, minLr: 1e-5,
};

/** An epoch loop's fields without its held-out split (valFraction, evalEvery). */
function withoutSplit<T extends { valFraction: unknown; evalEvery: unknown }>(o: T): Omit<T, 'valFraction' | 'evalEvery'> {
  const copy: Partial<T> = { ...o };
  delete copy.valFraction;
  delete copy.evalEvery;
  return copy as Omit<T, 'valFraction' | 'evalEvery'>;
}

/** The policy judged on the evaluation prompts (at the start, and after each round). */
export interface BestOfNEval {
  /** Mean reward of its greedy answers, and their gold reward when one is given. */
  greedyReward: number;
  goldReward?: number;
  /** Its sampled KL to the starting model, nats per answer (null when chat tokens were added to it). */
  kl: number | null;
}

export interface BestOfNRound extends BestOfNEval {
  round: number;
  /** Mean reward of all N samples, and of the kept (best) ones. */
  sampledReward: number;
  keptReward: number;
}

export interface BestOfNProgress extends StepProgress {
  round: number;
  /** On the last step of a round: its samples' rewards and the policy's judgement after it. */
  sampledReward?: number;
  keptReward?: number;
  evalReward?: number;
  goldReward?: number;
  kl?: number;
}

export interface BestOfNOptions extends TrainerOptions<BestOfNConfig, BestOfNProgress> {
  /** The SFT model: the policy starts as its copy; it is never changed. */
  policy: CausalLM;
  prompts: readonly Prompt[];
  reward: CausalLM | RewardFn;
  goldReward?: RewardFn;
  /** Prompts whose greedy answers judge each round (default: up to 16 of the training prompts). */
  evalPrompts?: readonly Prompt[];
}

export interface BestOfNResult {
  policy: CausalLM;
  tokenizer: Tokenizer;
  steps: number;
  /** The starting model judged as each round is. */
  initial: BestOfNEval;
  rounds: BestOfNRound[];
}

/** A round's kept answers and its samples' rewards. */
interface Sampled {
  kept: PromptAnswer[];
  sampledReward: number;
  keptReward: number;
}

export async function trainBestOfN(opts: BestOfNOptions): Promise<BestOfNResult> {
  const c: BestOfNConfig = { ...BEST_OF_N_DEFAULTS, ...opts.config };
  checkConfig(c, { ...withoutSplit(EPOCH_RULES), rounds: 'positiveInt', samplesPerPrompt: 'positiveInt', maxAnswerTokens: 'positiveInt', temperature: 'positive', promptsPerRound: 'nonNegativeInt' }, BEST_OF_N_DEFAULTS);
  if (c.maxAnswerTokens >= opts.policy.config.blockSize) {
    throw new TrainingError('invalid-config', `maxAnswerTokens must be below the context of ${opts.policy.config.blockSize}, got ${c.maxAnswerTokens}`, `set maxAnswerTokens to ${Math.floor(opts.policy.config.blockSize / 2)}`);
  }
  requireData(opts.prompts.length, 'training prompts');
  const perRound = c.promptsPerRound === 0 ? opts.prompts.length : Math.min(c.promptsPerRound, opts.prompts.length);
  const T = opts.policy.config.blockSize;
  const footprint = {
    rows: Math.min(c.batchSize, perRound),
    // the kept answers are not known yet: count each prompt with a full-length answer
    lengths: (t: Tokenizer) => opts.prompts.map((p) => Math.min(T, renderAnswer(t, p, '', T + 1).ids.length - 1 + c.maxAnswerTokens)),
  };
  const { model: policy, tokenizer: tok, added } = fineTuneStart(opts.policy, opts.tokenizer, { lora: c.lora, footprint });
  const evalPrompts = opts.evalPrompts ?? opts.prompts.slice(0, 16);
  const stepsPerRound = c.epochs * Math.ceil(perRound / c.batchSize);

  const judge = (): BestOfNEval => {
    const greedy = sampleRollouts(policy, tok, evalPrompts, 1, c.maxAnswerTokens, 0, 0);
    const kl = added ? null : sampledKl(policy, opts.policy, sampleRollouts(policy, tok, evalPrompts, 4, c.maxAnswerTokens, c.seed ^ 0x9e3779b9), tok.eotId);
    const e: BestOfNEval = { greedyReward: mean(scoreAnswers(opts.reward, opts.tokenizer, greedy)), kl };
    if (opts.goldReward) e.goldReward = mean(scoreAnswers(opts.goldReward, opts.tokenizer, greedy));
    return e;
  };
  // Sampling depends only on the round's starting policy and the seed.
  const sample = (r: number): Sampled => {
    const seed = (c.seed * 1000003 + r * 7919) >>> 0;
    const prompts = shuffled(opts.prompts, seed).slice(0, perRound);
    const samples = sampleRollouts(policy, tok, prompts, c.samplesPerPrompt, c.maxAnswerTokens, seed, c.temperature);
    const scores = scoreAnswers(opts.reward, opts.tokenizer, samples);
    const kept: PromptAnswer[] = [];
    const keptScores: number[] = [];
    prompts.forEach((prompt, p) => {
      const group = scores.slice(p * c.samplesPerPrompt, (p + 1) * c.samplesPerPrompt);
      const best = group.indexOf(Math.max(...group));
      kept.push({ prompt, answer: samples[p * c.samplesPerPrompt + best].text });
      keptScores.push(group[best]);
    });
    return { kept, sampledReward: mean(scores), keptReward: mean(keptScores) };
  };
  let rounds: Sampled[] = [];
  const run = await trainEpochs({
    model: policy,
    // a round is `epochs` epochs; the judgement after each round is the loop's evaluation
    config: { ...c, epochs: c.rounds * c.epochs, valFraction: 0, evalEvery: stepsPerRound },
    options: opts,
    lossName: 'best-of-N SFT loss',
    batches: (epoch) => {
      const r = Math.floor(epoch / c.epochs);
      rounds[r] ??= sample(r);
      return chunks(shuffled(rounds[r].kept, c.seed + epoch), c.batchSize);
    },
    loss: (examples, seed) => ({ loss: sftLoss(policy, sftBatch(tok, examples, T), { training: true, seed }), stats: {} }),
    evaluate: judge,
    state: { save: () => ({ rounds }), restore: (saved) => void (rounds = saved.rounds as Sampled[]) },
    progress: (p, { evaluated }): BestOfNProgress => {
      const round = Math.floor((p.step - 1) / stepsPerRound);
      if (!evaluated) return { ...p, round };
      const { sampledReward, keptReward } = rounds[round];
      return { ...p, round, sampledReward, keptReward, evalReward: evaluated.greedyReward, goldReward: evaluated.goldReward, kl: evaluated.kl ?? undefined };
    },
  });
  return {
    policy, tokenizer: tok, steps: run.steps, initial: run.initial,
    rounds: run.evals.map((e, r) => ({ round: r, sampledReward: rounds[r].sampledReward, keptReward: rounds[r].keptReward, greedyReward: e.greedyReward, goldReward: e.goldReward, kl: e.kl })),
  };
}
