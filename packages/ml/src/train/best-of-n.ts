// Best-of-N rejection sampling fine-tuning, as in Llama 2's RLHF (Touvron et al. 2023, §3.2.3):
// each round, N answers are sampled from the policy for every training prompt, the reward model
// keeps the best one per prompt, and the policy is fine-tuned on those (the SFT loss, on the answer's
// tokens). Rounds repeat from the policy the last round left. After each round the policy's greedy
// answers to the evaluation prompts are scored (and by a gold reward, when given), with its sampled
// KL to the starting (SFT) model.
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../checkpoint.ts';
import type { CausalLM } from '../models/index.ts';
import { TrainingError } from '../pretrain.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import {
  checkAborted, checkConfig, chunks, EPOCH_DEFAULTS, EPOCH_RULES, fineTuneStart, renderAnswer, requireData, shuffled, trainEpochs,
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
export const BEST_OF_N_DEFAULTS: BestOfNConfig = (({ valFraction: _v, evalEvery: _e, ...epoch }) => ({
  ...epoch, rounds: 1, samplesPerPrompt: 8, maxAnswerTokens: 32, temperature: 1, promptsPerRound: 0, epochs: 2, lr: 1e-4, minLr: 1e-5,
}))(EPOCH_DEFAULTS);

export interface BestOfNRound {
  round: number;
  /** Mean reward of all N samples, and of the kept (best) ones. */
  sampledReward: number;
  keptReward: number;
  /** Mean reward of the policy's greedy answers to the evaluation prompts after the round. */
  greedyReward: number;
  goldReward?: number;
  /** Sampled KL to the starting model after the round, nats per answer (null when chat tokens were added). */
  kl: number | null;
  steps: number;
}

export interface BestOfNProgress extends StepProgress {
  round: number;
  /** On the last step of a round. */
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
  /** The starting model's greedy reward (and gold reward) on the evaluation prompts. */
  initialGreedyReward: number;
  initialGoldReward?: number;
  rounds: BestOfNRound[];
}

interface RoundsState {
  /** Rounds done. */
  round: number;
  initialGreedyReward: number;
  initialGoldReward?: number;
  rounds: BestOfNRound[];
  [k: string]: unknown;
}

export async function trainBestOfN(opts: BestOfNOptions): Promise<BestOfNResult> {
  const c: BestOfNConfig = { ...BEST_OF_N_DEFAULTS, ...opts.config };
  const { valFraction: _v, evalEvery: _e, ...rules } = EPOCH_RULES;
  checkConfig(c, { ...rules, rounds: 'positiveInt', samplesPerPrompt: 'positiveInt', maxAnswerTokens: 'positiveInt', temperature: 'positive', promptsPerRound: 'nonNegativeInt' }, BEST_OF_N_DEFAULTS);
  if (c.maxAnswerTokens >= opts.policy.config.blockSize) {
    throw new TrainingError('invalid-config', `maxAnswerTokens must be below the context of ${opts.policy.config.blockSize}, got ${c.maxAnswerTokens}`, `set maxAnswerTokens to ${Math.floor(opts.policy.config.blockSize / 2)}`);
  }
  requireData(opts.prompts.length, 'training prompts');
  const perRound = c.promptsPerRound === 0 ? opts.prompts.length : Math.min(c.promptsPerRound, opts.prompts.length);
  const T = opts.policy.config.blockSize;
  const footprint = {
    rows: Math.min(c.batchSize, perRound),
    // the kept answers are not known yet: count prompts with a full-length answer
    lengths: (t: Tokenizer) => opts.prompts.map((p) => Math.min(T, renderAnswer(t, p, '', T + 1).ids.length - 1 + c.maxAnswerTokens)),
  };
  const { model: policy, tokenizer: tok, added } = fineTuneStart(opts.policy, opts.tokenizer, { lora: c.lora, footprint });
  const evalPrompts = opts.evalPrompts ?? opts.prompts.slice(0, 16);
  const roundsDir = opts.checkpointDir && `${opts.checkpointDir}/rounds`;
  const stepsPerRound = c.epochs * Math.ceil(perRound / c.batchSize);
  try {
    // The policy's greedy answers judged by the rewards; its samples' KL to the starting model.
    const judge = () => {
      const greedy = sampleRollouts(policy, tok, evalPrompts, 1, c.maxAnswerTokens, 0, 0);
      const kl = added ? null : sampledKl(policy, opts.policy, sampleRollouts(policy, tok, evalPrompts, 4, c.maxAnswerTokens, c.seed ^ 0x9e3779b9), tok.eotId);
      return { greedyReward: mean(scoreAnswers(opts.reward, opts.tokenizer, greedy)), goldReward: opts.goldReward && mean(scoreAnswers(opts.goldReward, opts.tokenizer, greedy)), kl };
    };
    let state: RoundsState;
    if (roundsDir && hasCheckpoint(roundsDir)) {
      const ck = await loadCheckpoint(roundsDir);
      for (const [name, v] of Object.entries(policy.params)) v.assign(ck.model.params[name]);
      ck.model.dispose();
      state = ck.state as RoundsState;
    } else {
      const start = judge();
      state = { round: 0, initialGreedyReward: start.greedyReward, initialGoldReward: start.goldReward, rounds: [] };
    }
    for (let r = state.round; r < c.rounds; r++) {
      checkAborted(opts.signal, r * stepsPerRound);
      // Sampling depends only on the round's starting policy and the seed: a resumed round samples the same answers.
      const seed = (c.seed * 1000003 + r * 7919) >>> 0;
      const prompts = shuffled(opts.prompts, seed).slice(0, perRound);
      const samples = sampleRollouts(policy, tok, prompts, c.samplesPerPrompt, c.maxAnswerTokens, seed, c.temperature);
      const scores = scoreAnswers(opts.reward, opts.tokenizer, samples);
      const kept: PromptAnswer[] = [];
      const keptScores: number[] = [];
      for (let p = 0; p < prompts.length; p++) {
        const group = scores.slice(p * c.samplesPerPrompt, (p + 1) * c.samplesPerPrompt);
        const best = group.indexOf(Math.max(...group));
        kept.push({ prompt: prompts[p], answer: samples[p * c.samplesPerPrompt + best].text });
        keptScores.push(group[best]);
      }
      let last: BestOfNProgress | undefined;
      const run = await trainEpochs({
        model: policy,
        config: { ...c, valFraction: 0, evalEvery: Number.MAX_SAFE_INTEGER, seed: c.seed + r },
        options: {
          signal: opts.signal,
          checkpointDir: opts.checkpointDir && `${opts.checkpointDir}/round-${r}`,
          beforeCheckpoint: opts.beforeCheckpoint,
          onProgress: (p: BestOfNProgress) => opts.onProgress?.((last = p)),
        },
        lossName: 'best-of-N SFT loss',
        batches: (epoch) => chunks(shuffled(kept, c.seed + r * 101 + epoch), c.batchSize),
        loss: (examples, s) => ({ loss: sftLoss(policy, sftBatch(tok, examples, T), { training: true, seed: s }), stats: {} }),
        evaluate: () => ({}),
        progress: (p): BestOfNProgress => ({ ...p, step: r * stepsPerRound + p.step, steps: c.rounds * stepsPerRound, round: r }),
      });
      const judged = judge();
      const record: BestOfNRound = { round: r, sampledReward: mean(scores), keptReward: mean(keptScores), ...judged, steps: run.steps };
      state = { ...state, round: r + 1, rounds: [...state.rounds, record] };
      // the round's judgement: its last step again, with the rewards after it
      const at = last ?? { phase: 'train', step: (r + 1) * stepsPerRound, steps: c.rounds * stepsPerRound, epoch: c.epochs - 1, lr: c.minLr, trainLoss: NaN, etaSeconds: 0, round: r };
      opts.onProgress?.({ ...at, phase: 'eval', sampledReward: record.sampledReward, keptReward: record.keptReward, evalReward: record.greedyReward, goldReward: record.goldReward, kl: record.kl ?? undefined });
      if (roundsDir) {
        await opts.beforeCheckpoint?.();
        await saveCheckpoint(roundsDir, { model: policy, state });
      }
    }
    return { policy, tokenizer: tok, steps: state.rounds.reduce((n, x) => n + x.steps, 0), initialGreedyReward: state.initialGreedyReward, initialGoldReward: state.initialGoldReward, rounds: state.rounds };
  } catch (e) {
    policy.dispose();
    throw e;
  }
}
