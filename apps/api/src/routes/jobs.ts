import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateJobRequestSchema,
  IdParamsSchema,
  JobDetailResponseSchema,
  JobListQuerySchema,
  JobListResponseSchema,
  JobResponseSchema,
  ModelPreferenceResponseSchema,
  ProjectParamsSchema,
  rankingToPairs,
  ThroughputResponseSchema,
  type JobKind,
  type ModelKind,
  type ParsedCreateJobRequest,
} from '@jielong/shared';
import { dequeueTrainingJob, enqueueTrainingJob, importPrefix, jobPrefix } from '@jielong/db';
import { requireProject } from '../access.ts';
import type { Db, Prisma } from '../db.ts';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';
import { toJob, toJobLog, toJobMetric } from '../dto.ts';
import { freezeDataset } from '../services/job-dataset.ts';
import { streamJobEvents } from '../services/job-events.ts';
import { measuredThroughput } from '../services/throughput.ts';

// Training jobs: researchers start them (the dataset is frozen and the job queued in pg-boss),
// follow them (detail with metrics history, or live over Server-Sent Events) and cancel them.
// The worker (apps/worker) runs them.

/** Kinds with their own routes (routes/model-io.ts): the generic route refuses them by name. */
const OWN_ROUTES: Partial<Record<JobKind, string>> = {
  import: 'POST /v1/projects/:projectId/models/import (multipart files)',
  export: 'POST /v1/models/:id/exports',
};

/** Which input models each kind takes: request field → allowed model kinds. */
const INPUTS: Record<JobKind, Record<string, ModelKind[]>> = {
  pretrain: {},
  sft: { baseModelId: ['base', 'sft', 'policy'] },
  reward: { baseModelId: ['base', 'sft'] },
  ppo: { policyModelId: ['sft', 'policy', 'base'], rewardModelId: ['reward'] },
  dpo: { policyModelId: ['sft', 'policy', 'base'] },
  grpo: { policyModelId: ['sft', 'policy', 'base'], rewardModelId: ['reward'] },
  kto: { policyModelId: ['sft', 'policy', 'base'] },
  best_of_n: { policyModelId: ['sft', 'policy', 'base'], rewardModelId: ['reward'] },
  generate: { modelIds: ['base', 'sft', 'policy'] },
  // checked by routes/model-io.ts
  import: {},
  export: {},
};

/** The input model ids in request order, each checked to exist in the project and be of a fitting kind. */
async function inputModelIds(db: Db, projectId: string, req: ParsedCreateJobRequest): Promise<string[]> {
  const wanted: { field: string; id: string; kinds: ModelKind[] }[] = [];
  for (const [field, kinds] of Object.entries(INPUTS[req.kind])) {
    const value = (req as Record<string, unknown>)[field];
    if (Array.isArray(value)) value.forEach((id: string, i) => wanted.push({ field: `${field}.${i}`, id, kinds }));
    else wanted.push({ field, id: value as string, kinds });
  }
  // a generate job's judge: read by the worker from its hyperparams, checked here like the inputs
  const judge = req.kind === 'generate' ? req.hyperparams.judge : undefined;
  const judged = judge
    ? [
        { field: 'hyperparams.judge.rewardModelId', id: judge.rewardModelId, kinds: ['reward'] as ModelKind[] },
        { field: 'hyperparams.judge.referenceModelId', id: judge.referenceModelId, kinds: ['sft', 'policy', 'base'] as ModelKind[] },
      ]
    : [];
  if (!wanted.length && !judged.length) return [];
  const models = await db.model.findMany({
    where: { id: { in: [...wanted, ...judged].map((w) => w.id) }, OR: [{ projectId }, { projectId: null }] },
    select: { id: true, kind: true },
  });
  const byId = new Map(models.map((m) => [m.id, m]));
  for (const w of [...wanted, ...judged]) {
    const model = byId.get(w.id);
    if (!model) throw new ApiError(404, 'not_found', 'model not found in this project', w.field);
    if (!w.kinds.includes(model.kind)) throw new ApiError(400, 'invalid', `${w.field} must be a ${w.kinds.join(' or ')} model, not a ${model.kind} model`, w.field);
  }
  return wanted.map((w) => w.id);
}

const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  const withOutput = { output: { select: { id: true, name: true } } } as const;

  /** The job, checking the caller may see it (researchers of its project). */
  async function loadJob(req: Parameters<typeof requireProject>[0], id: string) {
    const job = await app.prisma.trainingJob.findUnique({ where: { id }, include: withOutput });
    if (!job) throw notFound('job');
    const access = await requireProject(req, job.projectId, ['researcher']);
    return { job, ...access };
  }

  app.post(
    '/projects/:projectId/jobs',
    {
      // a pre-training corpus may be uploaded with the request
      bodyLimit: app.config.importBodyLimit,
      config: { idempotent: true },
      schema: { tags: ['jobs'], params: ProjectParamsSchema, body: CreateJobRequestSchema, response: { 201: JobResponseSchema } },
      // before validation: the union's own message would only say the kind is not one of its kinds
      preValidation: async (req) => {
        const kind = (req.body as { kind?: unknown } | null)?.kind;
        const own = typeof kind === 'string' ? OWN_ROUTES[kind as JobKind] : undefined;
        if (own) throw badRequest('kind', `${kind} jobs are not started here: use ${own}`);
      },
    },
    async (req, reply) => {
      const { user, project } = await requireProject(req, req.params.projectId, ['researcher']);
      const queue = app.jobQueue;
      if (!queue) throw new ApiError(503, 'queue_unavailable', 'this API was started without a job queue');
      const body = req.body;
      const inputs = await inputModelIds(app.prisma, project.id, body);
      const hyperparams: Record<string, unknown> =
        body.kind === 'generate'
          ? {
              ...body.hyperparams,
              // the project's settings at creation time, so the job does not depend on later edits
              answersPerPrompt: body.hyperparams.answersPerPrompt ?? project.answersPerComparison,
              requiredRankings: body.hyperparams.requiredRankings ?? project.ratersPerComparison,
            }
          : body.hyperparams;
      if (body.name) hyperparams.outputName = body.name;

      const jobId = randomUUID();
      const snapshot = await freezeDataset(app.prisma, app.artifacts, project.id, jobId, body);
      try {
        const job = await app.prisma.$transaction(async (tx) => {
          const job = await tx.trainingJob.create({
            data: {
              id: jobId,
              projectId: project.id,
              kind: body.kind,
              hyperparams: hyperparams as Prisma.InputJsonValue,
              inputModelIds: inputs,
              datasetSnapshot: snapshot as unknown as Prisma.InputJsonValue,
              createdById: user.id,
            },
            include: withOutput,
          });
          await tx.jobLog.create({
            data: {
              jobId,
              message: `created by ${user.displayName}; dataset frozen: ${snapshot.counts.rows} rows (${snapshot.source}), sha256 ${snapshot.sha256.slice(0, 12)}…`,
              code: 'created',
              params: { by: user.displayName, rows: snapshot.counts.rows, source: snapshot.source, sha256: snapshot.sha256.slice(0, 12) },
            },
          });
          await enqueueTrainingJob(queue, tx, jobId);
          return job;
        });
        return reply.code(201).send({ job: toJob(job) });
      } catch (err) {
        // no job row, so no dataset either
        await app.artifacts.remove(jobPrefix(jobId));
        throw err;
      }
    },
  );

  app.get(
    '/projects/:projectId/jobs',
    { schema: { tags: ['jobs'], params: ProjectParamsSchema, querystring: JobListQuerySchema, response: { 200: JobListResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher']);
      const { status, kind, limit, offset } = req.query;
      const where = { projectId: req.params.projectId, status, kind };
      const [jobs, total] = await Promise.all([
        app.prisma.trainingJob.findMany({ where, include: withOutput, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit, skip: offset }),
        app.prisma.trainingJob.count({ where }),
      ]);
      return { items: jobs.map(toJob), total };
    },
  );

  app.get(
    '/projects/:projectId/jobs/throughput',
    { schema: { tags: ['jobs'], params: ProjectParamsSchema, response: { 200: ThroughputResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher']);
      return { items: await measuredThroughput(app.prisma) };
    },
  );

  app.get(
    '/jobs/:id',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobDetailResponseSchema } } },
    async (req) => {
      const { job } = await loadJob(req, req.params.id);
      const [metrics, logs] = await Promise.all([
        app.prisma.jobMetric.findMany({ where: { jobId: job.id }, orderBy: { id: 'asc' } }),
        app.prisma.jobLog.findMany({ where: { jobId: job.id }, orderBy: { id: 'asc' } }),
      ]);
      return { job: toJob(job), metrics: metrics.map(toJobMetric), logs: logs.map(toJobLog) };
    },
  );

  app.get(
    '/jobs/:id/dataset',
    {
      schema: {
        tags: ['jobs'],
        params: IdParamsSchema,
        description:
          'The JSONL the job trains on, as frozen at its creation: SFT rows are {prompt, completion}, reward and DPO rows {prompt, chosen, rejected, group} (TRL\'s prompt-completion and preference formats), KTO rows {prompt, completion, label, group} (TRL\'s unpaired preference format), PPO, GRPO and best-of-N rows {promptId, prompt}, pretrain rows {text}.',
      },
    },
    async (req, reply) => {
      const { job } = await loadJob(req, req.params.id);
      const snapshot = job.datasetSnapshot as { path?: string } | null;
      if (!snapshot?.path) throw notFound('a frozen dataset of this job');
      const bytes = await app.artifacts.get(snapshot.path).catch(() => {
        throw notFound('the frozen dataset of this job');
      });
      return reply
        .header('content-type', 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${job.kind}-${job.id}.jsonl"`)
        .header('cache-control', 'no-store')
        .send(bytes);
    },
  );

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        params: IdParamsSchema,
        description: 'Server-Sent Events: `status` ({ job }) first and on every change, `metric` and `log` as they are written; the stream ends after the job finishes. Resumes after Last-Event-ID.',
      },
    },
    async (req, reply) => {
      const { job } = await loadJob(req, req.params.id);
      const lastEventId = req.headers['last-event-id'];
      streamJobEvents(app.prisma, req, reply, job.id, Array.isArray(lastEventId) ? lastEventId[0] : lastEventId);
      return reply;
    },
  );

  app.post(
    '/jobs/:id/cancel',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: JobResponseSchema } } },
    async (req) => {
      const { job, user } = await loadJob(req, req.params.id);
      if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'canceled') throw conflict('job_finished', `the job already ${job.status}`);
      // Not started: canceled at once (and taken off the queue). Running: the worker stops at its next step.
      const error = { code: 'canceled', message: `canceled by ${user.displayName} before it started`, params: { by: user.displayName, queued: 1 } };
      const dropped = await app.prisma.trainingJob.updateMany({
        where: { id: job.id, status: 'queued' },
        data: { status: 'canceled', cancelRequested: true, finishedAt: new Date(), error },
      });
      if (dropped.count) {
        await app.artifacts.remove(importPrefix(job.id)); // an import's upload, never to be read now
        // the worker skips a canceled job anyway; dropping it only saves it the trip
        if (app.jobQueue) await dequeueTrainingJob(app.jobQueue, job.id).catch((err) => req.log.warn({ err }, 'could not drop the job from the queue'));
      } else {
        await app.prisma.trainingJob.updateMany({ where: { id: job.id, status: 'running' }, data: { cancelRequested: true } });
      }
      await app.prisma.jobLog.create({ data: { jobId: job.id, message: `cancel requested by ${user.displayName}`, code: 'cancel-requested', params: { by: user.displayName } } });
      const updated = await app.prisma.trainingJob.findUniqueOrThrow({ where: { id: job.id }, include: withOutput });
      return { job: toJob(updated) };
    },
  );

  app.get(
    '/jobs/:id/model-preference',
    { schema: { tags: ['jobs'], params: IdParamsSchema, response: { 200: ModelPreferenceResponseSchema } } },
    async (req) => {
      const { job } = await loadJob(req, req.params.id);
      const comparisons = await app.prisma.comparison.findMany({
        where: { jobId: job.id },
        select: { answers: { select: { id: true, modelId: true, reward: true, logRatio: true } }, rankings: { where: { skipped: false }, select: { order: true } } },
      });
      // the judge's means over each model's answers
      const scores = new Map<string, { reward: number[]; logRatio: number[] }>();
      for (const a of comparisons.flatMap((c) => c.answers)) {
        if (!a.modelId) continue;
        const s = scores.get(a.modelId) ?? scores.set(a.modelId, { reward: [], logRatio: [] }).get(a.modelId)!;
        if (a.reward !== null) s.reward.push(a.reward);
        if (a.logRatio !== null) s.logRatio.push(a.logRatio);
      }
      const meanOf = (xs: number[] | undefined) => (xs?.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null);
      const tally = new Map(job.inputModelIds.map((id) => [id, { wins: 0, losses: 0 }]));
      const of = (modelId: string) => tally.get(modelId) ?? tally.set(modelId, { wins: 0, losses: 0 }).get(modelId)!;
      let rankings = 0;
      let pairs = 0;
      for (const c of comparisons) {
        const modelOf = new Map(c.answers.map((a) => [a.id, a.modelId]));
        for (const r of c.rankings) {
          rankings++;
          for (const { better, worse } of rankingToPairs(r.order as string[][])) {
            const [winner, loser] = [modelOf.get(better), modelOf.get(worse)];
            if (!winner || !loser || winner === loser) continue;
            pairs++;
            of(winner).wins++;
            of(loser).losses++;
          }
        }
      }
      const found = new Map((await app.prisma.model.findMany({ where: { id: { in: [...tally.keys()] } }, select: { id: true, name: true, metrics: true } })).map((m) => [m.id, m]));
      const judge = (job.hyperparams as { judge?: { rewardModelId: string; referenceModelId: string } }).judge ?? null;
      return {
        jobId: job.id,
        rankings,
        pairs,
        models: [...tally].map(([modelId, { wins, losses }]) => {
          const metrics = (found.get(modelId)?.metrics ?? {}) as { method?: unknown; wallSeconds?: unknown };
          return {
            modelId,
            modelName: found.get(modelId)?.name ?? '(deleted)',
            wins,
            losses,
            winRate: wins + losses ? wins / (wins + losses) : null,
            meanReward: meanOf(scores.get(modelId)?.reward),
            kl: meanOf(scores.get(modelId)?.logRatio),
            method: typeof metrics.method === 'string' ? metrics.method : null,
            wallSeconds: typeof metrics.wallSeconds === 'number' ? metrics.wallSeconds : null,
          };
        }),
        judge,
      };
    },
  );
};

export default jobRoutes;
