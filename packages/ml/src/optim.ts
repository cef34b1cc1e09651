// AdamW with decoupled weight decay, global-norm gradient clipping and the warm-up + cosine schedule.
// Shared by every trainer (pretraining, SFT, reward model, PPO, DPO).
import * as tf from '@tensorflow/tfjs';
import type { CausalLM } from './models/index.ts';
import { fusedAdamW, sumOfSquares } from './kernels/fused.ts';
import { nativeActive } from './kernels/native.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };

/** Moments of one parameter, by the parameter's name in CausalLM.params. */
export interface AdamWSlot {
  m: tf.Variable;
  v: tf.Variable;
}

export class AdamW {
  readonly config: AdamWConfig;
  /** Updates applied so far (bias correction uses it). */
  step = 0;
  readonly slots: Record<string, AdamWSlot> = {};

  constructor(config: Partial<AdamWConfig> = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
  }

  /**
   * One update. `params` and `grads` are keyed alike (parameter name → tensor). Weight decay
   * applies to matrices only (embeddings and weights), not to biases and LayerNorm gains.
   * `gradScale` multiplies every gradient first (global-norm clipping folded into the update).
   */
  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr: number, gradScale = 1): void {
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number ≥ 0, got ${lr}`);
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.step++;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    const fused = nativeActive();
    tf.tidy(() => {
      for (const [name, grad] of Object.entries(grads)) {
        const p = params[name];
        const slot = (this.slots[name] ??= { m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) });
        const wd = p.rank >= 2 ? weightDecay : 0;
        if (fused) {
          const [p2, m2, v2] = fusedAdamW(p, grad, slot.m, slot.v, { lr, beta1, beta2, eps, weightDecay: wd, bc1, bc2, gradScale });
          slot.m.assign(m2);
          slot.v.assign(v2);
          p.assign(p2);
          continue;
        }
        const g = gradScale === 1 ? grad : grad.mul(gradScale);
        const m = slot.m.mul(beta1).add(g.mul(1 - beta1));
        const v = slot.v.mul(beta2).add(g.square().mul(1 - beta2));
        slot.m.assign(m);
        slot.v.assign(v);
        let update = m.div(bc1).div(v.div(bc2).sqrt().add(eps));
        if (wd > 0) update = update.add(p.mul(wd));
        p.assign(p.sub(update.mul(lr)));
      }
    });
  }

  dispose(): void {
    for (const { m, v } of Object.values(this.slots)) tf.dispose([m, v]);
    for (const k of Object.keys(this.slots)) delete this.slots[k];
  }
}

/** Global L2 norm of the gradients (read in place on the native kernels, one tfjs reduction otherwise). */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  const list = Object.values(grads);
  if (nativeActive()) return Math.sqrt(sumOfSquares(list));
  return tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => g.square().sum()))).dataSync()[0]);
}

/** The factor that brings a gradient of norm `norm` down to at most maxNorm (1 when maxNorm ≤ 0). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
}

export interface ScheduleConfig {
  lr: number;
  minLr: number;
  warmupSteps: number;
  steps: number;
}

/** Linear warm-up to lr, then cosine decay to minLr at the last step. */
export function learningRate(step: number, { lr, minLr, warmupSteps, steps }: ScheduleConfig): number {
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, steps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - minLr);
}

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** False when the loss or a gradient was not finite: the weights were left untouched. */
  applied: boolean;
}

/**
 * Clips gradients (keyed by parameter name) and applies one AdamW update, unless the loss or the
 * gradient norm is not finite. Does not dispose `grads`.
 */
export function applyGradients(model: CausalLM, optimizer: AdamW, loss: number, grads: Record<string, tf.Tensor>, opts: { lr: number; gradClip: number }): StepResult {
  const gradNorm = globalNorm(grads);
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, applied: false };
  optimizer.apply(model.params, grads, opts.lr, clipScale(gradNorm, opts.gradClip));
  return { loss, gradNorm, applied: true };
}

/** One optimisation step on the model's trainable variables: gradients of lossFn, clipping, AdamW. */
export function trainStep(model: CausalLM, optimizer: AdamW, lossFn: () => tf.Scalar, opts: { lr: number; gradClip: number }): StepResult {
  const { loss, grads } = model.gradients(lossFn);
  const result = applyGradients(model, optimizer, loss.dataSync()[0], grads, opts);
  tf.dispose([loss, ...Object.values(grads)]);
  return result;
}
