// One attempt at one training job, as the kinds see it: the job row and its parsed settings, the
// frozen dataset, input models, a scratch folder for checkpoints, progress reporting (metrics and
// logs into the database, flushed about once a second) and a signal that fires when the researcher
// cancels or pg-boss takes the job back (shutdown, lost heartbeat).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { jobPrefix, modelPrefix, sha256Hex, type ArtifactStore, type Prisma, type PrismaClient } from '@jielong/db';
import { loadCheckpoint, type CausalLM, type Tokenizer } from '@jielong/ml';
import type { DatasetSnapshot } from '@jielong/shared';
import { JobInputError, type JobFailure, type ReasonParams } from './failures.ts';

export type TrainingJobRow = Prisma.TrainingJobModel;

const FLUSH_MS = 1000;
const CANCEL_POLL_MS = 1000;

export interface LoadedModel {
  row: Prisma.ModelModel;
  model: CausalLM;
  tokenizer: Tokenizer;
}

export class JobRun {
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** set once the researcher's cancel has been seen */
  canceled = false;
  /** the last step reported, for messages */
  lastStep = 0;
  /** what this attempt warned about (logged as it happened); the registered model keeps them */
  readonly warnings: JobFailure[] = [];
  private readonly abort = new AbortController();
  private pending: Prisma.JobMetricCreateManyInput[] = [];
  private progress: number | null = null;
  private timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    readonly prisma: PrismaClient,
    readonly store: ArtifactStore,
    readonly job: TrainingJobRow,
    queueSignal: AbortSignal,
  ) {
    this.attempt = job.attempts;
    this.signal = AbortSignal.any([this.abort.signal, queueSignal]);
    this.timers.push(setInterval(() => void this.flush().catch(() => {}), FLUSH_MS));
    this.timers.push(setInterval(() => void this.pollCancel().catch(() => {}), CANCEL_POLL_MS));
  }

  get id(): string {
    return this.job.id;
  }

  /** The job's settings, parsed again with the schema of its kind (defaults for fields added since). */
  hyperparams<S extends z.ZodType>(schema: S): z.infer<S> {
    const parsed = schema.safeParse(this.job.hyperparams);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new JobInputError('invalid-config', `hyperparams.${issue.path.join('.')}: ${issue.message}`, 'start a new job with valid hyper-parameters');
    }
    return parsed.data;
  }

  /** The frozen dataset's rows, checked against the snapshot's sha256 and the row schema. */
  async dataset<S extends z.ZodType>(schema: S): Promise<z.infer<S>[]> {
    const snapshot = this.job.datasetSnapshot as DatasetSnapshot | null;
    if (!snapshot) throw new JobInputError('bad-data', 'the job has no dataset snapshot', 'start a new job');
    let bytes: Buffer;
    try {
      bytes = await this.store.get(snapshot.path);
    } catch (err) {
      throw new JobInputError('bad-data', `the dataset ${snapshot.path} cannot be read: ${(err as Error).message}`, 'start a new job (its dataset is frozen again)');
    }
    if (sha256Hex(bytes) !== snapshot.sha256) throw new JobInputError('bad-data', `the dataset ${snapshot.path} changed since the job was created (sha256 mismatch)`, 'start a new job');
    const rows: z.infer<S>[] = [];
    bytes
      .toString('utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new JobInputError('bad-data', `dataset line ${i + 1} is not JSON`, 'start a new job');
        }
        const row = schema.safeParse(value);
        if (!row.success) throw new JobInputError('bad-data', `dataset line ${i + 1}: ${row.error.issues[0].message}`, 'start a new job');
        rows.push(row.data);
      });
    return rows;
  }

  /** This job's scratch folder (checkpoints): $JIELONG_DATA_DIR/jobs/<jobId>/. */
  dir(): Promise<string> {
    return this.store.localDir(jobPrefix(this.id));
  }

  async loadModel(modelId: string): Promise<LoadedModel> {
    const row = await this.prisma.model.findUnique({ where: { id: modelId } });
    if (!row) throw new JobInputError('bad-data', `an input model no longer exists (${modelId})`, 'start a new job with another model');
    // Frozen outside the wasm heap: sampling, scoring and LoRA read these weights; a trainer copies
    // into the heap what it trains in full (fineTuneStart, PPO's policy).
    const { model, tokenizer } = await loadCheckpoint(await this.store.localDir(modelPrefix(modelId)), { frozen: true });
    if (!tokenizer) {
      model.dispose();
      throw new JobInputError('bad-data', `model ${row.name} has no tokenizer.json`, 'use a model trained by a Jielong job');
    }
    return { row, model, tokenizer };
  }

  /** A log line: English `message`, and `code` + `params` for the web app to say it in its user's language. */
  async log(message: string, level: 'info' | 'warn' | 'error' = 'info', code?: string, params?: ReasonParams): Promise<void> {
    await this.prisma.jobLog.create({ data: { jobId: this.id, level, message, code, params } });
  }

  /** A warning the researcher should see: logged now, and kept with the model the job registers. */
  async warn(warning: JobFailure): Promise<void> {
    this.warnings.push(warning);
    await this.log(`${warning.message}${warning.suggestion ? ` (${warning.suggestion})` : ''}`, 'warn', warning.code, warning.params);
  }

  /** Records one progress event (buffered); `steps` gives the job's progress fraction. */
  metric(step: number, data: Record<string, unknown>, steps?: number): void {
    this.lastStep = step;
    // JSON has no NaN or Infinity: leave such values out rather than store null-looking noise
    const clean = Object.fromEntries(Object.entries(data).filter(([, v]) => typeof v !== 'number' || Number.isFinite(v)));
    this.pending.push({ jobId: this.id, step, data: { ...clean, attempt: this.attempt } as Prisma.InputJsonValue });
    if (steps) this.progress = Math.min(1, step / steps);
  }

  /** Writes buffered metrics and the progress fraction. Serialised: flushes never overlap. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const rows = this.pending.splice(0);
      const progress = this.progress;
      this.progress = null;
      if (rows.length) await this.prisma.jobMetric.createMany({ data: rows });
      if (progress !== null) await this.prisma.trainingJob.update({ where: { id: this.id }, data: { progress } });
    });
    return this.flushing;
  }

  /**
   * Before a trainer resumes from `checkpointDir` (when an earlier attempt left one): drops the
   * metrics of the steps it will redo, and records the resume in a log line and a
   * `{ event: 'resumed', resumedFrom }` metric. Returns the checkpoint's step (0: starting afresh).
   */
  async announceResume(checkpointDir: string, steps?: number): Promise<number> {
    const from = checkpointStep(checkpointDir);
    if (from > 0) {
      await this.prisma.jobMetric.deleteMany({ where: { jobId: this.id, step: { gt: from } } });
      await this.log(`attempt ${this.attempt}: resuming from the checkpoint at step ${from}`, 'info', 'resumed', { attempt: this.attempt, step: from });
      this.metric(from, { event: 'resumed', resumedFrom: from }, steps);
    }
    return from;
  }

  private async pollCancel(): Promise<void> {
    if (this.canceled) return;
    const row = await this.prisma.trainingJob.findUnique({ where: { id: this.id }, select: { cancelRequested: true } });
    if (row?.cancelRequested) {
      this.canceled = true;
      this.abort.abort();
    }
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
  }
}

/** The step a trainer's checkpoint folder was saved at (0 when there is none). */
function checkpointStep(dir: string): number {
  for (const d of [dir, `${dir}.old`]) {
    const file = join(d, 'config.json');
    if (existsSync(file)) {
      const step = (JSON.parse(readFileSync(file, 'utf8')) as { state?: { step?: number } }).state?.step;
      return typeof step === 'number' ? step : 0;
    }
  }
  return 0;
}
