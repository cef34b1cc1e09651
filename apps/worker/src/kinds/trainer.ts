// What the fine-tuning kinds (sft, reward, ppo, dpo) share: load the job's input models, train
// with a checkpoint folder in the job's scratch folder (a retried attempt resumes from it), report
// progress as metrics, and save the trained model for registration.
import { join } from 'node:path';
import { saveCheckpoint, type CausalLM, type Tokenizer } from '@jielong/ml';
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
      return { output: { kind: trained.kind, dir: modelDir, parentId: inputs[0].row.id, metrics: trained.metrics }, notice: trained.notice };
    } finally {
      trained.model.dispose();
    }
  } finally {
    for (const m of inputs) m.model.dispose();
  }
}
