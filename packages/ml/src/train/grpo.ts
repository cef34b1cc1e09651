// Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath §4.1), as TRL's GRPOTrainer.
// The policy starts as a copy of the SFT model, which stays frozen as the reference. Each iteration:
//   1. a group of G answers sampled from the policy for each of a few training prompts;
//   2. each answer scored by the reward model (or a reward function);
//   3. its advantage the reward normalised within its group, (r − mean) / (std + ε): no value head,
//      the group is the baseline; every token of the answer gets it;
//   4. a few epochs of the clipped ratio objective plus β·KL to the reference, with the unbiased
//      per-token estimator k3 = exp(log π_ref − log π) − (log π_ref − log π) − 1, in mini-batches.
// β is fixed, or adapts to a target KL as PPO's. Over-optimisation is watched as in PPO: an optional
// gold reward every few iterations, and a KL bound that stops the run (or warns).
import * as tf from '@tensorflow/tfjs';
import { renderPrompt } from '../chat.ts';
import { checkMemory } from '../memory.ts';
import type { CausalLM, LoraConfig } from '../models/index.ts';
import { AdamW, clipScale, globalNorm } from '../optim.ts';
import { TrainingError } from '../pretrain.ts';
import {
  checkAborted, checkConfig, checkFinite, checkLoraTargets, checkpointDue, chunks, cloneModel, thawedFor, loadTrainingState, padBatch, promptTurns, requireData, restore,
  saveTrainingState, shuffled, snapshot, yieldToEventLoop, type Prompt, type TrainerOptions,
} from './common.ts';
import type { PpoEval, PpoWarning } from './ppo.ts';
import { mean, rolloutTensors, sampleRollouts, scoreAnswers, type RewardFn } from './rollouts.ts';

export interface GrpoConfig {
  /** null: the whole policy trains; { rank, alpha }: only LoRA adapters train. */
  lora: LoraConfig | null;
  iterations: number;
  promptsPerIteration: number;
  /** G: answers sampled per prompt, the group whose rewards are normalised together. */
  groupSize: number;
  maxAnswerTokens: number;
  /** Sampling temperature of the rollouts. */
  temperature: number;
  /** Optimisation epochs over each iteration's rollouts (μ in the paper), each in this many mini-batches. */
  grpoEpochs: number;
  miniBatches: number;
  /** Divide by the group's standard deviation (false: centre only, as Dr. GRPO argues). */
  scaleRewards: boolean;
  /** Constant learning rate. */
  lr: number;
  gradClip: number;
  /** ε of the clipped ratio. */
  clipRange: number;
  /** β of the KL term to the reference. */
  klCoef: number;
  /** When set, β adapts (as in PPO) so the KL per answer approaches this many nats. */
  klTarget: number | null;
  klHorizon: number;
  /** Bound on the KL per answer (nats) to the reference: passing it stops the run or warns (null = none). */
  maxKl: number | null;
  onKlExceeded: 'stop' | 'warn';
  /** Evaluate the gold reward on the evaluation prompts every this many iterations. */
  goldEvery: number;
  /** Save a resumable checkpoint every this many iterations (needs checkpointDir; 0 = never). */
  checkpointEvery: number;
  seed: number;
}

/** The one block of defaults: packages/shared's GrpoHyperparamsSchema parses {} to it (tests/shared checks). */
export const GRPO_DEFAULTS: GrpoConfig = {
  lora: null,
  iterations: 100,
  promptsPerIteration: 4,
  groupSize: 8,
  maxAnswerTokens: 32,
  temperature: 1,
  grpoEpochs: 2,
  miniBatches: 2,
  scaleRewards: true,
  lr: 5e-5,
  gradClip: 1,
  clipRange: 0.2,
  klCoef: 0.04,
  klTarget: null,
  klHorizon: 1000,
  maxKl: 20,
  onKlExceeded: 'stop',
  goldEvery: 10,
  checkpointEvery: 10,
  seed: 1337,
};

export interface GrpoStats {
  iteration: number;
  /** Mean reward of the rollouts. */
  meanReward: number;
  /** Mean over groups of the standard deviation of their rewards: 0 means no group taught anything. */
  rewardSpread: number;
  /** Mean over answers of Σ_t (log π − log π_ref), nats per answer (as PPO logs it). */
  kl: number;
  klCoef: number;
  entropy: number;
  clipFraction: number;
  answerLength: number;
  policyLoss: number;
}

export interface GrpoProgress extends GrpoStats {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  lr: number;
  goldReward?: number;
  evalReward?: number;
  warning?: PpoWarning;
  etaSeconds: number;
}

export interface GrpoOptions extends TrainerOptions<GrpoConfig, GrpoProgress> {
  /** The SFT model: the policy starts as its copy, and it stays frozen as the KL reference. */
  policy: CausalLM;
  prompts: readonly Prompt[];
  reward: CausalLM | RewardFn;
  goldReward?: RewardFn;
  /** Prompts for the gold evaluation (default: up to 16 of the training prompts). */
  evalPrompts?: readonly Prompt[];
}

export interface GrpoResult {
  /** The trained policy (with LoRA: adapters attached, not merged). */
  policy: CausalLM;
  iterations: number;
  history: GrpoStats[];
  evals: PpoEval[];
  stopped: { code: 'kl-exceeded'; message: string; suggestion: string } | null;
  warnings: PpoWarning[];
}

interface GrpoState {
  step: number;
  beta: number;
  order: number[];
  history: GrpoStats[];
  evals: PpoEval[];
  warnings: PpoWarning[];
  [k: string]: unknown;
}

/** (r − mean) / (std + ε) within each consecutive group of G rewards (or r − mean when not scaled); and the groups' mean std. */
export function groupAdvantages(rewards: readonly number[], G: number, scale: boolean): { advantages: number[]; spread: number } {
  const advantages: number[] = [];
  let spread = 0;
  for (let g = 0; g < rewards.length; g += G) {
    const group = rewards.slice(g, g + G);
    const m = mean(group);
    const std = Math.sqrt(mean(group.map((r) => (r - m) ** 2)));
    spread += std;
    for (const r of group) advantages.push(scale ? (r - m) / (std + 1e-4) : r - m);
  }
  return { advantages, spread: spread / Math.ceil(rewards.length / G) };
}

export async function trainGrpo(opts: GrpoOptions): Promise<GrpoResult> {
  const c: GrpoConfig = { ...GRPO_DEFAULTS, ...opts.config };
  checkConfig(c, {
    iterations: 'positiveInt', promptsPerIteration: 'positiveInt', maxAnswerTokens: 'positiveInt', temperature: 'positive', grpoEpochs: 'positiveInt',
    miniBatches: 'positiveInt', lr: 'positive', gradClip: 'nonNegative', clipRange: 'positive', klCoef: 'nonNegative', klHorizon: 'positive',
    goldEvery: 'positiveInt', checkpointEvery: 'nonNegativeInt',
  }, GRPO_DEFAULTS);
  if (!(Number.isInteger(c.groupSize) && c.groupSize >= 2)) throw new TrainingError('invalid-config', `groupSize must be an integer ≥ 2 (a group of one has no spread), got ${c.groupSize}`, `set groupSize to ${GRPO_DEFAULTS.groupSize}`);
  if (c.klTarget !== null) checkConfig(c, { klTarget: 'positive' }, { klTarget: 6 });
  if (c.maxKl !== null) checkConfig(c, { maxKl: 'positive' }, GRPO_DEFAULTS);
  if (c.maxAnswerTokens >= opts.policy.config.blockSize) {
    throw new TrainingError('invalid-config', `maxAnswerTokens must be below the context of ${opts.policy.config.blockSize}, got ${c.maxAnswerTokens}`, `set maxAnswerTokens to ${Math.floor(opts.policy.config.blockSize / 2)}`);
  }
  requireData(opts.prompts.length, 'training prompts');
  checkLoraTargets(opts.policy, c.lora);
  const tok = opts.tokenizer;
  const reference = opts.policy;
  const evalPrompts = opts.evalPrompts ?? opts.prompts.slice(0, 16);

  const room = reference.config.blockSize + 1 - c.maxAnswerTokens;
  const longestPrompt = Math.max(...opts.prompts.map((p) => Math.min(room, renderPrompt(tok, promptTurns(p)).length)));
  checkMemory(reference.config, c.lora ? 'lora' : 'full', {
    rows: Math.ceil((c.promptsPerIteration * c.groupSize) / c.miniBatches),
    tokens: longestPrompt + c.maxAnswerTokens,
    lora: c.lora ?? undefined,
    alsoHeldBytes: typeof opts.reward === 'function' ? 0 : 4 * opts.reward.numParams(),
    batch: { name: 'promptsPerIteration × groupSize / miniBatches', rowsPerItem: 1 },
  });
  const policy = cloneModel(reference, { merge: true, thaw: thawedFor(c.lora) });
  if (c.lora) policy.addLora(c.lora);
  let optimizer: AdamW | undefined;
  let withinBound: Record<string, tf.Tensor> | undefined;
  try {
    const resumed = await loadTrainingState(opts.checkpointDir, policy);
    optimizer = resumed?.optimizer ?? new AdamW({ weightDecay: 0 });
    withinBound = resumed?.extra ?? snapshot(policy);
    const state: GrpoState = resumed ? (resumed.state as GrpoState) : { step: 0, beta: c.klCoef, order: [], history: [], evals: [], warnings: [] };
    const { history, evals, warnings } = state;
    let { beta, order } = state;
    let stopped: GrpoResult['stopped'] = null;
    let emaMs = 0;

    const evaluate = (iteration: number): PpoEval => {
      const rollouts = sampleRollouts(policy, tok, evalPrompts, 1, c.maxAnswerTokens, c.seed ^ 0x9e3779b9);
      const e = { iteration, reward: mean(scoreAnswers(opts.reward, tok, rollouts)), goldReward: mean(scoreAnswers(opts.goldReward!, tok, rollouts)) };
      evals.push(e);
      return e;
    };

    if (opts.goldReward && !resumed) evaluate(0);
    for (let it = state.step; it < c.iterations; it++) {
      checkAborted(opts.signal, it);
      const t0 = performance.now();

      // 1–3. Groups of answers, their rewards and group-normalised advantages.
      while (order.length < c.promptsPerIteration) order = order.concat(shuffled(opts.prompts.map((_, i) => i), c.seed + it * 31 + order.length));
      const prompts = order.splice(0, c.promptsPerIteration).map((i) => opts.prompts[i]);
      const rollouts = sampleRollouts(policy, tok, prompts, c.groupSize, c.maxAnswerTokens, (c.seed * 1000003 + it * 7919) >>> 0, c.temperature);
      const scores = scoreAnswers(opts.reward, tok, rollouts);
      const { advantages, spread } = groupAdvantages(scores, c.groupSize, c.scaleRewards);

      const { stats, tensors } = tf.tidy(() => {
        const batch = padBatch(rollouts.map((r) => r.row), tok.eotId);
        const [B, T] = batch.x.shape;
        const mask = batch.mask.dataSync();
        const { logp, refLogp, entropy } = rolloutTensors(policy, reference, batch);
        let klSum = 0;
        let entSum = 0;
        let tokens = 0;
        for (let i = 0; i < B * T; i++) {
          if (!mask[i]) continue;
          klSum += logp[i] - refLogp[i];
          entSum += entropy[i];
          tokens++;
        }
        const shape: [number, number] = [B, T];
        return {
          stats: { kl: klSum / B, entropy: entSum / tokens, answerLength: tokens / B },
          tensors: {
            ...batch,
            oldLogp: tf.tensor2d(logp, shape),
            refLogp: tf.tensor2d(refLogp, shape),
            advantages: tf.tensor1d(advantages).expandDims(1).tile([1, T]) as tf.Tensor2D,
          },
        };
      });

      // The KL bound is checked on the policy that produced these rollouts.
      let warning: PpoWarning | undefined;
      if (c.maxKl !== null && stats.kl > c.maxKl) {
        const message = `KL to the SFT model reached ${stats.kl.toFixed(3)} nats per answer at iteration ${it}, past the bound of ${c.maxKl}`;
        if (c.onKlExceeded === 'stop') {
          tf.dispose(Object.values(tensors));
          restore(policy, withinBound!);
          stopped = { code: 'kl-exceeded', message: `${message}; stopped and kept the policy of the last iteration within the bound`, suggestion: `raise klCoef (now ${beta.toPrecision(3)}), set a klTarget, or lower lr` };
          break;
        }
        warning = { code: 'kl-exceeded', iteration: it, message };
        warnings.push(warning);
      } else {
        tf.dispose(Object.values(withinBound!));
        withinBound = snapshot(policy);
      }

      // 4. Clipped objective + β·k3 over mini-batches.
      const B = rollouts.length;
      let clipped = 0;
      let counted = 0;
      let policyLoss = 0;
      let updates = 0;
      try {
        for (let epoch = 0; epoch < c.grpoEpochs; epoch++) {
          const idx = shuffled(Array.from({ length: B }, (_, i) => i), c.seed + it * 131 + epoch);
          for (const part of chunks(idx, Math.ceil(B / c.miniBatches))) {
            tf.tidy(() => {
              const rows = tf.tensor1d(part, 'int32');
              const [x, y, mask, oldLogp, refLogp, adv] = [tensors.x, tensors.y, tensors.mask, tensors.oldLogp, tensors.refLogp, tensors.advantages].map((t) => tf.gather(t, rows)) as tf.Tensor2D[];
              const n = mask.sum().maximum(1);
              let parts!: number[];
              const { grads } = policy.gradients(() => {
                const logp = policy.forward(x, { targets: y }).logProbs!;
                const ratio = logp.sub(oldLogp).exp();
                const pg = tf.maximum(adv.neg().mul(ratio), adv.neg().mul(ratio.clipByValue(1 - c.clipRange, 1 + c.clipRange)));
                const d = refLogp.sub(logp);
                const k3 = d.exp().sub(d).sub(1);
                const perToken = beta > 0 ? pg.add(k3.mul(beta)) : pg;
                const loss = perToken.mul(mask).sum().div(n) as tf.Scalar;
                const clipCount = ratio.sub(1).abs().greater(c.clipRange).toFloat().mul(mask).sum();
                parts = [loss.dataSync()[0], clipCount.dataSync()[0], n.dataSync()[0]];
                return loss;
              });
              checkFinite(parts[0], 'GRPO loss', it, c.lr);
              optimizer!.apply(policy.params, grads, c.lr, clipScale(globalNorm(grads), c.gradClip));
              policyLoss += parts[0];
              clipped += parts[1];
              counted += parts[2];
              updates++;
            });
          }
        }
      } finally {
        tf.dispose(Object.values(tensors));
      }

      const iterStats: GrpoStats = {
        iteration: it, meanReward: mean(scores), rewardSpread: spread, kl: stats.kl, klCoef: beta, entropy: stats.entropy,
        clipFraction: clipped / counted, answerLength: stats.answerLength, policyLoss: policyLoss / updates,
      };
      history.push(iterStats);
      if (c.klTarget !== null) {
        const error = Math.min(0.2, Math.max(-0.2, stats.kl / c.klTarget - 1));
        beta *= 1 + (error * B) / c.klHorizon;
      }
      const ms = performance.now() - t0;
      emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
      const progress: GrpoProgress = { ...iterStats, phase: 'train', step: it + 1, steps: c.iterations, lr: c.lr, etaSeconds: ((c.iterations - it - 1) * emaMs) / 1000, warning };
      if (opts.goldReward && ((it + 1) % c.goldEvery === 0 || it + 1 === c.iterations)) {
        const e = evaluate(it + 1);
        Object.assign(progress, { phase: 'eval', goldReward: e.goldReward, evalReward: e.reward });
      }
      opts.onProgress?.(progress);
      if (checkpointDue(opts.checkpointDir, c.checkpointEvery, it + 1)) {
        await opts.beforeCheckpoint?.();
        await saveTrainingState(opts.checkpointDir, policy, optimizer, { step: it + 1, beta, order, history, evals, warnings }, withinBound);
      }
      await yieldToEventLoop();
    }
    return { policy, iterations: history.length, history, evals, stopped, warnings };
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    if (withinBound) tf.dispose(Object.values(withinBound));
    optimizer?.dispose();
  }
}
