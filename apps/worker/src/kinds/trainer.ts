// What the fine-tuning kinds (sft, reward, ppo, dpo, grpo, kto, best_of_n) share: load the job's
// input models, train with a checkpoint folder in the job's scratch folder (a retried attempt resumes
// from it), report progress as metrics, and save the trained model for registration.
import { join } from 'node:path';
import { rewardModelFn, saveCheckpoint, type CausalLM, type RewardFn, type Tokenizer } from '@jielong/ml';
import type { ModelKind } from '@jielong/shared';
import type { JobFailure } from '../failures.ts';
import type { JobRun, LoadedModel } from '../job-run.ts';
import type { KindResult } from './types.ts';

/** What a trainer run is given, to pass straight into the trainer's options. */
export interface TrainerJob<P> {
  checkpointDir: string;
  signal: AbortSignal;
  onProgress: (p: P) => void;
  /** Stores the metrics reported so far, so that every step up to a checkpoint is on record. */
  beforeCheckpoint: () => Promise<void>;
}

/** A trained model and what to register with it. */
export interface Trained {
  model: CausalLM;
  /** Saved with the model; the first input's when absent (a trainer that added chat tokens gives its own). */
  tokenizer?: Tokenizer;
  kind: ModelKind;
  /** Saved in the model folder's config.json (e.g. the step it is from). */
  state: Record<string, unknown>;
  metrics: Record<string, unknown>;
  /** A line for the job log on what was learned. */
  summary?: string;
  notice?: JobFailure;
}

/** What every trainer reports of a step. */
interface Progress {
  phase: string;
  step: number;
  steps: number;
  lr: number;
  etaSeconds: number;
}

/**
 * Runs a trainer as a job. `inputs` are the job's input models in order; the first one is the
 * model's parent, and its tokenizer goes with the trained model unless the trainer gives one. A
 * step's metric holds its phase, learning rate and ETA, and what `metric` picks from its progress
 * record.
 */
export async function runTrainer<P extends Progress>(
  run: JobRun,
  metric: (p: P) => Record<string, unknown>,
  train: (inputs: LoadedModel[], job: TrainerJob<P>) => Promise<Trained>,
): Promise<KindResult> {
  const dir = await run.dir();
  const checkpointDir = join(dir, 'checkpoint');
  await run.announceResume(checkpointDir);
  const inputs: LoadedModel[] = [];
  try {
    for (const id of run.job.inputModelIds) inputs.push(await run.loadModel(id));
    const trained = await train(inputs, {
      checkpointDir,
      signal: run.signal,
      onProgress: (p) => run.metric(p.step, { phase: p.phase, lr: p.lr, ...metric(p), etaSeconds: p.etaSeconds }, p.steps),
      beforeCheckpoint: () => run.flush(),
    });
    try {
      if (trained.summary) await run.log(trained.summary);
      const modelDir = join(dir, 'model');
      await saveCheckpoint(modelDir, { model: trained.model, tokenizer: trained.tokenizer ?? inputs[0].tokenizer, state: trained.state });
      // wall time from the job's first start to its trained model, retries included: what the policy comparison reports
      const wallSeconds = (Date.now() - (run.job.startedAt ?? new Date()).getTime()) / 1000;
      return { output: { kind: trained.kind, dir: modelDir, parentId: inputs[0].row.id, metrics: { ...trained.metrics, wallSeconds } }, notice: trained.notice };
    } finally {
      trained.model.dispose();
    }
  } finally {
    for (const m of inputs) m.model.dispose();
  }
}

/**
 * The reward model as the online trainers (ppo, grpo, best_of_n) take it: scored in batches when it
 * reads the policy's tokens, else through its own tokenizer, one answer at a time (logged).
 */
export async function rewardFor(run: JobRun, policy: LoadedModel, reward: LoadedModel): Promise<CausalLM | RewardFn> {
  if (JSON.stringify(reward.tokenizer.toJSON()) === JSON.stringify(policy.tokenizer.toJSON())) return reward.model;
  await run.log(`the reward model has another tokenizer than the policy: answers are scored one by one`, 'warn', 'reward-tokenizer');
  return rewardModelFn(reward.model, reward.tokenizer);
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);

/** Mean reward of the first and last five iterations, and the last five's KL: an online policy's headline numbers. */
export function onlineSummary(history: readonly { meanReward: number; kl: number }[]): { rewardStart: number; rewardEnd: number; klEnd: number } {
  const [first, last] = [history.slice(0, 5), history.slice(-5)];
  return { rewardStart: mean(first.map((h) => h.meanReward)), rewardEnd: mean(last.map((h) => h.meanReward)), klEnd: mean(last.map((h) => h.kl)) };
}
