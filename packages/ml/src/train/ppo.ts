// RLHF with PPO, after InstructGPT (Ouyang et al. 2022) and Ziegler et al. (2019). The policy
// starts as a copy of the SFT model, which itself stays frozen as the reference. Each iteration:
//   1. rollouts: answers sampled from the policy to training prompts (KV-cached sampling);
//   2. scores from the reward model or any reward function, given at the answer's last token;
//      every answer token also pays −β·(log π − log π_ref), a per-token KL penalty;
//   3. advantages by GAE(γ, λ) on a value head sharing the policy's backbone, whitened;
//   4. a few epochs of the clipped PPO objective plus a clipped value loss, in mini-batches.
// β is fixed, or adapts to a target KL. Over-optimisation is watched: an optional held-out "gold"
// reward is evaluated every few iterations, and a KL bound stops the run (or warns).
import * as tf from '@tensorflow/tfjs';
import { renderPrompt } from '../chat.ts';
import { checkMemory } from '../memory.ts';
import type { CausalLM, LoraConfig } from '../models/index.ts';
import { AdamW, clipScale, globalNorm } from '../optim.ts';
import { TrainingError } from '../pretrain.ts';
import {
  checkAborted, checkConfig, checkFinite, checkpointDue, chunks, cloneModel, detachHead, thawedFor, loadTrainingState, padBatch, promptTurns, requireData,
  checkLoraTargets, restore, saveTrainingState, shuffled, snapshot, yieldToEventLoop, type Prompt, type TrainerOptions,
} from './common.ts';
import { mean, rolloutTensors, sampleRollouts, scoreAnswers, type Rollout, type RewardFn } from './rollouts.ts';

export type { RewardFn } from './rollouts.ts';

export interface PpoConfig {
  /** null: the whole policy trains; { rank, alpha }: LoRA adapters (and the value head) train. */
  lora: LoraConfig | null;
  iterations: number;
  promptsPerIteration: number;
  /** Answers sampled per prompt (one batched call each); rollouts per iteration = prompts × samples. */
  samplesPerPrompt: number;
  maxAnswerTokens: number;
  /** Optimisation epochs over each iteration's rollouts, each split into this many mini-batches. */
  ppoEpochs: number;
  miniBatches: number;
  /** Constant learning rate. */
  lr: number;
  gradClip: number;
  /** ε of the clipped ratio min(r·A, clip(r, 1−ε, 1+ε)·A), and of the value clipping. */
  clipRange: number;
  valueClipRange: number;
  /** Weight of the value loss next to the policy loss. */
  vfCoef: number;
  /** GAE discount and trace decay. */
  gamma: number;
  lam: number;
  /** β of the per-token KL penalty −β·(log π − log π_ref). */
  klCoef: number;
  /** When set, β adapts (Ziegler et al.) so the KL per answer approaches this many nats. */
  klTarget: number | null;
  /** Rollouts over which the adaptive β may change by about 20%. */
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

export const PPO_DEFAULTS: PpoConfig = {
  lora: null,
  iterations: 100,
  promptsPerIteration: 8,
  samplesPerPrompt: 2,
  maxAnswerTokens: 32,
  ppoEpochs: 4,
  miniBatches: 2,
  lr: 5e-5,
  gradClip: 1,
  clipRange: 0.2,
  valueClipRange: 0.2,
  vfCoef: 0.1,
  gamma: 1,
  lam: 0.95,
  klCoef: 0.05,
  klTarget: null,
  klHorizon: 1000,
  maxKl: 20,
  onKlExceeded: 'stop',
  goldEvery: 10,
  checkpointEvery: 10,
  seed: 1337,
};

/** What one iteration's rollouts and updates looked like. */
export interface PpoStats {
  iteration: number;
  /** Mean reward-model (or reward-function) score of the rollouts. */
  meanReward: number;
  /** Mean over answers of Σ_t (log π − log π_ref): the sampled KL to the reference, nats per answer. */
  kl: number;
  /** β used in this iteration. */
  klCoef: number;
  /** Mean entropy of the policy's next-token distribution over answer tokens (nats). */
  entropy: number;
  /** Share of answer tokens whose ratio left [1−ε, 1+ε] during the updates. */
  clipFraction: number;
  /** Mean answer length in tokens (the closing <|end|> included). */
  answerLength: number;
  policyLoss: number;
  valueLoss: number;
  /** Where the iteration's time went: sampling the rollouts, scoring them (reward model or function),
   * and training (log-probs, values, advantages and the PPO epochs). */
  sampleSeconds: number;
  scoreSeconds: number;
  trainSeconds: number;
}

export interface PpoEval {
  iteration: number;
  /** Mean score on the evaluation prompts: the trained-for reward, and the held-out gold one. */
  reward: number;
  goldReward: number;
}

export interface PpoWarning {
  code: 'kl-exceeded';
  iteration: number;
  message: string;
}

export interface PpoProgress extends PpoStats {
  phase: 'train' | 'eval';
  step: number;
  steps: number;
  lr: number;
  /** On evaluation iterations. */
  goldReward?: number;
  evalReward?: number;
  warning?: PpoWarning;
  etaSeconds: number;
}

export interface PpoOptions extends TrainerOptions<PpoConfig, PpoProgress> {
  /** The SFT model: the policy starts as its copy, and it stays frozen as the KL reference. */
  policy: CausalLM;
  /** Training prompts. */
  prompts: readonly Prompt[];
  /** A reward model (a CausalLM with its head, scored in batches) or a function. */
  reward: CausalLM | RewardFn;
  /** Held-out "gold" reward to watch over-optimisation (optional). */
  goldReward?: RewardFn;
  /** Prompts for the gold evaluation (default: up to 16 of the training prompts). */
  evalPrompts?: readonly Prompt[];
}

export interface PpoResult {
  /** The trained policy (value head removed; with LoRA: adapters attached, not merged). */
  policy: CausalLM;
  iterations: number;
  history: PpoStats[];
  evals: PpoEval[];
  /** Set when the KL bound stopped the run; the policy is then the last one within the bound. */
  stopped: { code: 'kl-exceeded'; message: string; suggestion: string } | null;
  warnings: PpoWarning[];
}

interface PpoState {
  /** Iterations done. */
  step: number;
  /** β of the next iteration (it adapts with a klTarget). */
  beta: number;
  /** Prompts (indices) queued for the next iterations. */
  order: number[];
  history: PpoStats[];
  evals: PpoEval[];
  warnings: PpoWarning[];
  [k: string]: unknown;
}

export async function trainPpo(opts: PpoOptions): Promise<PpoResult> {
  const c: PpoConfig = { ...PPO_DEFAULTS, ...opts.config };
  checkConfig(c, {
    iterations: 'positiveInt', promptsPerIteration: 'positiveInt', samplesPerPrompt: 'positiveInt', maxAnswerTokens: 'positiveInt',
    ppoEpochs: 'positiveInt', miniBatches: 'positiveInt', lr: 'positive', gradClip: 'nonNegative', clipRange: 'positive',
    valueClipRange: 'positive', vfCoef: 'nonNegative', gamma: 'nonNegative', lam: 'nonNegative', klCoef: 'nonNegative',
    klHorizon: 'positive', goldEvery: 'positiveInt', checkpointEvery: 'nonNegativeInt',
  }, PPO_DEFAULTS);
  if (c.klTarget !== null) checkConfig(c, { klTarget: 'positive' }, { klTarget: 6 });
  if (c.maxKl !== null) checkConfig(c, { maxKl: 'positive' }, PPO_DEFAULTS);
  if (c.maxAnswerTokens >= opts.policy.config.blockSize) {
    throw new TrainingError('invalid-config', `maxAnswerTokens must be below the context of ${opts.policy.config.blockSize}, got ${c.maxAnswerTokens}`, `set maxAnswerTokens to ${Math.floor(opts.policy.config.blockSize / 2)}`);
  }
  requireData(opts.prompts.length, 'training prompts');
  checkLoraTargets(opts.policy, c.lora);
  const tok = opts.tokenizer;
  const reference = opts.policy;
  const evalPrompts = opts.evalPrompts ?? opts.prompts.slice(0, 16);

  // A minibatch holds prompt + answer rows of the rollouts; the reward model, when it is one, is in the heap too.
  const room = reference.config.blockSize + 1 - c.maxAnswerTokens;
  const longestPrompt = Math.max(...opts.prompts.map((p) => Math.min(room, renderPrompt(tok, promptTurns(p)).length)));
  checkMemory(reference.config, c.lora ? 'lora' : 'full', {
    rows: Math.ceil((c.promptsPerIteration * c.samplesPerPrompt) / c.miniBatches),
    tokens: longestPrompt + c.maxAnswerTokens,
    lora: c.lora ?? undefined,
    // Only the reward model's weights in the heap count here (frozen ones are outside it).
    alsoHeldBytes: typeof opts.reward === 'function' ? 0 : 4 * Object.values(opts.reward.params).reduce((n, v) => n + v.size, 0),
    batch: { name: 'promptsPerIteration × samplesPerPrompt / miniBatches', rowsPerItem: 1 },
    frozen: Object.keys(reference.frozen).length > 0,
  });
  const policy = cloneModel(reference, { merge: true, thaw: thawedFor(c.lora) });
  if (c.lora) policy.addLora(c.lora);
  policy.attachHead();
  let optimizer: AdamW | undefined;
  let withinBound: Record<string, tf.Tensor> | undefined;
  try {
    const resumed = await loadTrainingState(opts.checkpointDir, policy);
    optimizer = resumed?.optimizer ?? new AdamW({ weightDecay: 0 });
    withinBound = resumed?.extra ?? snapshot(policy);
    // What an iteration leaves to the next (checkpointed with the weights, the AdamW moments and withinBound).
    const state: PpoState = resumed ? (resumed.state as PpoState) : { step: 0, beta: c.klCoef, order: [], history: [], evals: [], warnings: [] };
    const { history, evals, warnings } = state;
    let { beta, order } = state;
    let stopped: PpoResult['stopped'] = null;
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

      // 1–2. Rollouts and their scores.
      while (order.length < c.promptsPerIteration) order = order.concat(shuffled(opts.prompts.map((_, i) => i), c.seed + it * 31 + order.length));
      const prompts = order.splice(0, c.promptsPerIteration).map((i) => opts.prompts[i]);
      const sampled = sampleRollouts(policy, tok, prompts, c.samplesPerPrompt, c.maxAnswerTokens, (c.seed * 1000003 + it * 7919) >>> 0);
      const tSampled = performance.now();
      const scores = scoreAnswers(opts.reward, tok, sampled);
      const tScored = performance.now();
      const rollouts: (Rollout & { score: number })[] = sampled.map((r, i) => ({ ...r, score: scores[i] }));

      // Per-token KL, rewards and GAE advantages, on the CPU: answers are short.
      const { stats, tensors } = tf.tidy(() => {
        const batch = padBatch(rollouts.map((r) => r.row), tok.eotId);
        const [B, T] = batch.x.shape;
        const mask = batch.mask.dataSync();
        const { logp, refLogp, entropy, values: v } = rolloutTensors(policy, reference, batch, true);
        const values = v!;
        const adv = new Float32Array(B * T);
        const ret = new Float32Array(B * T);
        let klSum = 0;
        let entSum = 0;
        let tokens = 0;
        rollouts.forEach((r, b) => {
          const pos: number[] = [];
          for (let t = 0; t < T; t++) if (mask[b * T + t]) pos.push(b * T + t);
          let next = 0;
          let gae = 0;
          for (let j = pos.length - 1; j >= 0; j--) {
            const p = pos[j];
            const kl = logp[p] - refLogp[p];
            klSum += kl;
            entSum += entropy[p];
            const reward = -beta * kl + (j === pos.length - 1 ? r.score : 0);
            const delta = reward + c.gamma * next - values[p];
            gae = delta + c.gamma * c.lam * gae;
            adv[p] = gae;
            ret[p] = gae + values[p];
            next = values[p];
          }
          tokens += pos.length;
        });
        // Whitened advantages over all answer tokens of the iteration.
        let mean = 0;
        for (let i = 0; i < adv.length; i++) mean += adv[i] * mask[i];
        mean /= tokens;
        let variance = 0;
        for (let i = 0; i < adv.length; i++) variance += mask[i] * (adv[i] - mean) ** 2;
        const std = Math.sqrt(variance / tokens) + 1e-8;
        for (let i = 0; i < adv.length; i++) adv[i] = mask[i] ? (adv[i] - mean) / std : 0;
        const shape: [number, number] = [B, T];
        return {
          stats: { kl: klSum / B, entropy: entSum / tokens, answerLength: tokens / B },
          tensors: {
            ...batch,
            oldLogp: tf.tensor2d(logp, shape),
            oldValues: tf.tensor2d(values, shape),
            advantages: tf.tensor2d(adv, shape),
            returns: tf.tensor2d(ret, shape),
          },
        };
      });
      const meanReward = scores.reduce((s, v) => s + v, 0) / scores.length;

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

      // 3–4. PPO epochs over mini-batches.
      const B = rollouts.length;
      let clipped = 0;
      let counted = 0;
      let policyLoss = 0;
      let valueLoss = 0;
      let updates = 0;
      try {
        for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
          const idx = shuffled(Array.from({ length: B }, (_, i) => i), c.seed + it * 131 + epoch);
          for (const part of chunks(idx, Math.ceil(B / c.miniBatches))) {
            tf.tidy(() => {
              const rows = tf.tensor1d(part, 'int32');
              const [x, y, mask, oldLogp, oldValues, advantages, returns] = [tensors.x, tensors.y, tensors.mask, tensors.oldLogp, tensors.oldValues, tensors.advantages, tensors.returns].map((t) => tf.gather(t, rows)) as tf.Tensor2D[];
              const n = mask.sum().maximum(1);
              let parts!: number[];
              const { grads } = policy.gradients(() => {
                const out = policy.forward(x, { targets: y, head: true });
                const ratio = out.logProbs!.sub(oldLogp).exp();
                const pg = tf.maximum(advantages.neg().mul(ratio), advantages.neg().mul(ratio.clipByValue(1 - c.clipRange, 1 + c.clipRange)));
                const pgLoss = pg.mul(mask).sum().div(n);
                const v = out.head!;
                const vClipped = oldValues.add(v.sub(oldValues).clipByValue(-c.valueClipRange, c.valueClipRange));
                const vf = tf.maximum(v.sub(returns).square(), vClipped.sub(returns).square()).mul(0.5);
                const vfLoss = vf.mul(mask).sum().div(n);
                const clipCount = ratio.sub(1).abs().greater(c.clipRange).toFloat().mul(mask).sum();
                parts = [pgLoss.dataSync()[0], vfLoss.dataSync()[0], clipCount.dataSync()[0], n.dataSync()[0]];
                return pgLoss.add(vfLoss.mul(c.vfCoef)) as tf.Scalar;
              });
              checkFinite(parts[0] + parts[1], 'PPO loss', it, c.lr);
              optimizer!.apply(policy.params, grads, c.lr, clipScale(globalNorm(grads), c.gradClip));
              policyLoss += parts[0];
              valueLoss += parts[1];
              clipped += parts[2];
              counted += parts[3];
              updates++;
            });
          }
        }
      } finally {
        tf.dispose(Object.values(tensors));
      }

      const iterStats: PpoStats = {
        iteration: it, meanReward, kl: stats.kl, klCoef: beta, entropy: stats.entropy, clipFraction: clipped / counted,
        answerLength: stats.answerLength, policyLoss: policyLoss / updates, valueLoss: valueLoss / updates,
        sampleSeconds: (tSampled - t0) / 1000, scoreSeconds: (tScored - tSampled) / 1000, trainSeconds: (performance.now() - tScored) / 1000,
      };
      history.push(iterStats);
      if (c.klTarget !== null) {
        const error = Math.min(0.2, Math.max(-0.2, stats.kl / c.klTarget - 1));
        beta *= 1 + (error * B) / c.klHorizon;
      }
      const ms = performance.now() - t0;
      emaMs = emaMs === 0 ? ms : 0.9 * emaMs + 0.1 * ms;
      const progress: PpoProgress = { ...iterStats, phase: 'train', step: it + 1, steps: c.iterations, lr: c.lr, etaSeconds: ((c.iterations - it - 1) * emaMs) / 1000, warning };
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
    detachHead(policy);
    return { policy, iterations: history.length, history, evals, stopped, warnings };
  } catch (e) {
    policy.dispose();
    throw e;
  } finally {
    if (withinBound) tf.dispose(Object.values(withinBound));
    optimizer?.dispose();
  }
}
