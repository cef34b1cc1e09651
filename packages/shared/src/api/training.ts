import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.ts';

export const ModelKindSchema = z.enum(['tokenizer', 'base', 'sft', 'reward', 'policy']);
export type ModelKind = z.infer<typeof ModelKindSchema>;
/** Kinds started through POST /v1/projects/:projectId/jobs. */
export const TrainingJobKindSchema = z.enum(['pretrain', 'sft', 'reward', 'ppo', 'dpo', 'grpo', 'kto', 'best_of_n', 'generate']);
export type TrainingJobKind = z.infer<typeof TrainingJobKindSchema>;
/** Every kind a job row may have: import and export have their own routes (api/model-io.ts). */
export const JobKindSchema = z.enum([...TrainingJobKindSchema.options, 'import', 'export']);
export type JobKind = z.infer<typeof JobKindSchema>;
export const JobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const ModelSchema = z.object({
  id: IdSchema,
  projectId: IdSchema.nullable(),
  name: z.string(),
  kind: ModelKindSchema,
  parentId: IdSchema.nullable(),
  jobId: IdSchema.nullable(),
  config: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()),
  createdAt: TimestampSchema,
});
export type Model = z.infer<typeof ModelSchema>;

// GET /v1/projects/:projectId/models ?kind (researcher): the project's models plus global ones (projectId null)
export const ModelListQuerySchema = z.object({ kind: ModelKindSchema.optional() });
export const ModelListResponseSchema = z.object({ items: z.array(ModelSchema) });
export type ModelListResponse = z.infer<typeof ModelListResponseSchema>;

/** Why a job failed (or a succeeded job's notice): message and suggestion in English, and the numbers
 * and names they are made of in `params`, for a UI to say them in its language (keyed by code). */
export const JobErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  suggestion: z.string().optional(),
  params: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
});
export type JobError = z.infer<typeof JobErrorSchema>;

export const JobSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  kind: JobKindSchema,
  status: JobStatusSchema,
  hyperparams: z.record(z.string(), z.unknown()),
  inputModelIds: z.array(IdSchema),
  datasetSnapshot: z.record(z.string(), z.unknown()).nullable(),
  progress: z.number(),
  error: JobErrorSchema.nullable(),
  attempts: z.number().int(),
  cancelRequested: z.boolean(),
  createdById: IdSchema.nullable(),
  createdAt: TimestampSchema,
  startedAt: TimestampSchema.nullable(),
  finishedAt: TimestampSchema.nullable(),
  /** the model it produced, once it has, and that model's name */
  outputModelId: IdSchema.nullable(),
  outputModelName: z.string().nullable(),
});
export type Job = z.infer<typeof JobSchema>;

// GET /v1/projects/:projectId/jobs ?status&kind&limit&offset (researcher), newest first
export const JobListQuerySchema = z.object({
  status: JobStatusSchema.optional(),
  kind: JobKindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const JobListResponseSchema = z.object({ items: z.array(JobSchema), total: z.number().int() });
export type JobListResponse = z.infer<typeof JobListResponseSchema>;
