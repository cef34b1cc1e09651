// The life of a training job in the worker: claim it (queued/running → running, attempts + 1), run
// its kind, then register the output model and mark it succeeded in one transaction, or record why
// it failed or was canceled. Errors the researcher must fix (divergence, bad data…) fail the job at
// once; unexpected ones are thrown back to pg-boss, which retries the job (it resumes from its
// checkpoint) until its retries run out and the last attempt records the failure.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { importPrefix, jobPrefix, modelPrefix, putModelFolder, type ArtifactStore, type Prisma, type PrismaClient } from '@jielong/db';
import type { JobKind } from '@jielong/shared';
import { describeFailure, internalFailure, type JobFailure } from './failures.ts';
import { JobRun, type TrainingJobRow } from './job-run.ts';
import { runBestOfN } from './kinds/best-of-n.ts';
import { runDpo } from './kinds/dpo.ts';
import { runExport } from './kinds/export.ts';
import { runGenerate } from './kinds/generate.ts';
import { runGrpo } from './kinds/grpo.ts';
import { runImport } from './kinds/import.ts';
import { runKto } from './kinds/kto.ts';
import { runPpo } from './kinds/ppo.ts';
import { runPretrain } from './kinds/pretrain.ts';
import { runReward } from './kinds/reward.ts';
import { runSft } from './kinds/sft.ts';
import type { KindResult, KindRunner } from './kinds/types.ts';

const KINDS: Record<JobKind, KindRunner> = {
  pretrain: runPretrain,
  sft: runSft,
  reward: runReward,
  ppo: runPpo,
  dpo: runDpo,
  grpo: runGrpo,
  kto: runKto,
  best_of_n: runBestOfN,
  generate: runGenerate,
  import: runImport,
  export: runExport,
};

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

export interface RunDeps {
  prisma: PrismaClient;
  store: ArtifactStore;
  log: (line: string) => void;
}

/** The pg-boss side of an attempt: its signal, and whether pg-boss will retry it if it throws. */
export interface QueueAttempt {
  signal: AbortSignal;
  retryCount: number;
  retryLimit: number;
}

const asJson = (v: unknown) => v as Prisma.InputJsonValue;

async function finish(prisma: PrismaClient, jobId: string, status: 'failed' | 'canceled', error: JobFailure) {
  // One transaction: whoever sees the job finished also finds the line that says why.
  await prisma.$transaction([
    prisma.trainingJob.updateMany({ where: { id: jobId, status: { in: ['queued', 'running'] } }, data: { status, error: asJson(error), finishedAt: new Date() } }),
    // the line's code is the status; its params say why (the web app words the reason from the job's error)
    prisma.jobLog.create({
      data: {
        jobId,
        level: status === 'failed' ? 'error' : 'info',
        message: `${status}: ${error.message}${error.suggestion ? ` (${error.suggestion})` : ''}`,
        code: status,
        params: asJson({ reason: error.code, ...error.params }),
      },
    }),
  ]);
}

function defaultModelName(job: TrainingJobRow, kind: string): string {
  const named = (job.hyperparams as Record<string, unknown>)?.outputName;
  return typeof named === 'string' ? named : `${kind} ${job.createdAt.toISOString().slice(0, 16).replace('T', ' ')} (${job.id.slice(0, 8)})`;
}

/**
 * Registers the output (files first, then the row with the job's success: both or neither in the DB).
 * A notice (stopped early…) and the run's warnings are logged; the first of them is the succeeded
 * job's `error`, and all of them stay with the model (`metrics.warnings`) for its page to show.
 */
async function succeed(deps: RunDeps, run: JobRun, result: KindResult): Promise<void> {
  const { job } = run;
  if (result.notice) await run.warn(result.notice);
  const shown = result.notice ?? run.warnings[0];
  const data = { status: 'succeeded' as const, progress: 1, finishedAt: new Date(), error: shown ? asJson(shown) : undefined };
  if (!result.output) {
    await deps.prisma.trainingJob.update({ where: { id: job.id }, data });
    return;
  }
  const { kind, dir, parentId } = result.output;
  const metrics = run.warnings.length ? { ...result.output.metrics, warnings: run.warnings } : result.output.metrics;
  const name = result.output.name ?? defaultModelName(job, kind);
  const modelId = randomUUID();
  const manifest = await putModelFolder(deps.store, modelId, dir);
  const config = JSON.parse((await deps.store.get(`${modelPrefix(modelId)}/config.json`)).toString('utf8')) as { model: unknown; lora: unknown; head: boolean; provenance?: unknown };
  await deps.prisma.$transaction([
    deps.prisma.model.create({
      data: {
        id: modelId,
        projectId: job.projectId,
        name,
        kind,
        parentId,
        jobId: job.id,
        artifactPath: modelPrefix(modelId),
        // an imported model's provenance (source format, architecture, file hashes, licence) too
        config: asJson({ ...(config.model as object), lora: config.lora, head: config.head, files: manifest.files.length, ...(config.provenance ? { provenance: config.provenance } : {}) }),
        metrics: asJson(metrics),
      },
    }),
    deps.prisma.trainingJob.update({ where: { id: job.id }, data }),
    deps.prisma.jobLog.create({ data: { jobId: job.id, message: `registered ${kind} model ${modelId} "${name}"`, code: 'registered', params: { kind, name } } }),
  ]);
}

export async function runTrainingJob(deps: RunDeps, jobId: string, attempt: QueueAttempt): Promise<void> {
  const { prisma } = deps;
  const found = await prisma.trainingJob.findUnique({ where: { id: jobId } });
  if (!found || FINISHED.has(found.status)) return; // unknown, or canceled while queued
  const claimed = await prisma.trainingJob.updateMany({
    where: { id: jobId, status: { in: ['queued', 'running'] } },
    data: { status: 'running', attempts: { increment: 1 }, startedAt: found.startedAt ?? new Date() },
  });
  if (!claimed.count) return;
  const job = await prisma.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
  // An import's upload is not needed once the job has finished, however it finished. It goes before the
  // final status is written, so whoever reads the job as finished finds it gone. (A worker that dies
  // between the two leaves a retry that fails naming the missing upload.)
  const dropUpload = () => deps.store.remove(importPrefix(jobId)).catch(() => {});
  const end = async (status: 'failed' | 'canceled', error: JobFailure) => {
    await dropUpload();
    await finish(prisma, jobId, status, error);
  };
  if (job.cancelRequested) return end('canceled', { code: 'canceled', message: 'canceled before it started', params: { queued: 1 } });

  const run = new JobRun(prisma, deps.store, job, attempt.signal);
  try {
    await run.log(`attempt ${run.attempt} started on ${hostname()} (pid ${process.pid})`, 'info', 'started', { attempt: run.attempt, host: hostname(), pid: process.pid });
    deps.log(`job ${jobId} (${job.kind}) attempt ${run.attempt}`);
    // An earlier attempt registered the model and died before it could say so: nothing left to do.
    if (await prisma.model.findUnique({ where: { jobId } })) {
      await dropUpload();
      await prisma.trainingJob.update({ where: { id: jobId }, data: { status: 'succeeded', progress: 1, finishedAt: new Date() } });
      return;
    }
    const result = await KINDS[job.kind](run);
    await run.flush();
    await dropUpload();
    await succeed(deps, run, result);
    deps.log(`job ${jobId} succeeded`);
    // training state is no longer needed once the model is registered; the dataset stays
    for (const scratch of ['checkpoint', 'best', 'model']) await deps.store.remove(`${jobPrefix(jobId)}/${scratch}`).catch(() => {});
  } catch (err) {
    await run.flush().catch(() => {});
    if (run.canceled) {
      await end('canceled', { code: 'canceled', message: `canceled at step ${run.lastStep}`, params: { step: run.lastStep } });
      return;
    }
    if (attempt.signal.aborted) {
      // pg-boss took the job back (shutdown or lost heartbeat) and will hand it out again
      await run.log(`attempt ${run.attempt} stopped at step ${run.lastStep}: the worker is shutting down; the job will resume from its last checkpoint`, 'warn', 'shutdown', { attempt: run.attempt, step: run.lastStep }).catch(() => {});
      throw err;
    }
    const failure = describeFailure(err, job.kind);
    if (failure) {
      await end('failed', failure);
      return;
    }
    if (attempt.retryCount < attempt.retryLimit) {
      await run.log(`attempt ${run.attempt} failed: ${(err as Error).message}; it will be retried from its last checkpoint`, 'warn', 'retrying', { attempt: run.attempt, error: (err as Error).message }).catch(() => {});
      throw err;
    }
    await end('failed', internalFailure(err, run.attempt));
  } finally {
    run.close();
  }
}

/** A job whose every attempt died with its worker (pg-boss dead-lettered it): record that it failed. */
export async function failLostJob(deps: RunDeps, jobId: string): Promise<void> {
  const job = await deps.prisma.trainingJob.findUnique({ where: { id: jobId }, select: { status: true, attempts: true } });
  if (!job || FINISHED.has(job.status)) return;
  const last = await deps.prisma.jobMetric.findFirst({ where: { jobId }, orderBy: { id: 'desc' }, select: { step: true } });
  await deps.store.remove(importPrefix(jobId)).catch(() => {});
  await finish(deps.prisma, jobId, 'failed', {
    code: 'worker-lost',
    message: `the worker running this job stopped ${job.attempts} time(s)${last ? `, the last time after step ${last.step}` : ''}`,
    suggestion: 'check the worker output for a crash (often out of memory: try a smaller model or batchSize), then start the job again',
    params: { attempts: job.attempts, ...(last ? { step: last.step } : {}) },
  });
}
