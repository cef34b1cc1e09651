import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.ts';
import { JobKindSchema, JobSchema, ModelSchema } from './training.ts';
import { ModelExportSchema, ModelProvenanceSchema } from './model-io.ts';
import { AssistantTurnListSchema } from './datasets.ts';
import { PromptContentSchema } from '../dialogue.ts';
import {
  BestOfNHyperparamsSchema,
  DpoHyperparamsSchema,
  GenerateHyperparamsSchema,
  GrpoHyperparamsSchema,
  KtoHyperparamsSchema,
  PpoHyperparamsSchema,
  PretrainHyperparamsSchema,
  RewardHyperparamsSchema,
  SftHyperparamsSchema,
} from '../hyperparams.ts';

// POST /v1/projects/:projectId/jobs (researcher): one shape per kind. `hyperparams` may be left
// out or partial: the kind's defaults fill the rest. The input models are named per kind and stored
// in the job's inputModelIds in the order given here.
const name = z.string().trim().min(1).max(200).optional();

export const CreateJobRequestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('pretrain'),
    name,
    hyperparams: PretrainHyperparamsSchema.prefault({}),
    /** The text to pre-train on; when absent, the project's prompts and accepted demonstrations. */
    corpus: z.string().min(1).max(100_000_000).optional(),
  }),
  z.object({
    kind: z.literal('sft'),
    name,
    hyperparams: SftHyperparamsSchema.prefault({}),
    /** A base (pre-trained) or earlier SFT model. */
    baseModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('reward'),
    name,
    hyperparams: RewardHyperparamsSchema.prefault({}),
    /** The model the reward model starts from, usually the SFT model. */
    baseModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('ppo'),
    name,
    hyperparams: PpoHyperparamsSchema.prefault({}),
    /** The SFT model: the policy starts from it and the KL penalty keeps it near it. */
    policyModelId: IdSchema,
    rewardModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('dpo'),
    name,
    hyperparams: DpoHyperparamsSchema.prefault({}),
    /** The SFT model: the policy starts from it and it is DPO's reference. */
    policyModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('grpo'),
    name,
    hyperparams: GrpoHyperparamsSchema.prefault({}),
    /** The SFT model: the policy starts from it and the KL term keeps it near it. */
    policyModelId: IdSchema,
    rewardModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('kto'),
    name,
    hyperparams: KtoHyperparamsSchema.prefault({}),
    /** The SFT model: the policy starts from it and it is KTO's reference. */
    policyModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('best_of_n'),
    name,
    hyperparams: BestOfNHyperparamsSchema.prefault({}),
    /** The SFT model the rounds start from; the reward model keeps the best of N answers. */
    policyModelId: IdSchema,
    rewardModelId: IdSchema,
  }),
  z.object({
    kind: z.literal('generate'),
    name,
    hyperparams: GenerateHyperparamsSchema.prefault({}),
    /** One or several models; their answers are mixed in every comparison. */
    modelIds: z.array(IdSchema).min(1).max(8),
    /** Prompts to answer; by default the project's prompts without a comparison yet (up to maxPrompts). */
    promptIds: z.array(IdSchema).min(1).max(10_000).optional(),
  }),
]);
export type CreateJobRequest = z.input<typeof CreateJobRequestSchema>;
export type ParsedCreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

/**
 * The rows of a job's dataset file (JSONL), per kind. The API writes them, the worker reads them.
 * A dataset holding any dialogue is written in TRL's conversational format throughout (prompt as
 * turns, answers as one-turn assistant lists), otherwise in its standard format (strings), so the
 * file loads in TRL as it is; the worker reads either, answers as their text.
 */
export const PretrainRowSchema = z.object({ text: z.string() });
const AnswerContentSchema = z.union([z.string(), AssistantTurnListSchema.transform(([turn]) => turn.content)]);
export const SftRowSchema = z.object({ prompt: PromptContentSchema, completion: AnswerContentSchema });
/** One (better, worse) pair of one ranking; pairs of the same ranking share `group` (the ranking id). */
export const PreferencePairRowSchema = z.object({ prompt: PromptContentSchema, chosen: AnswerContentSchema, rejected: AnswerContentSchema, group: z.string() });
export const PromptRowSchema = z.object({ promptId: IdSchema, prompt: PromptContentSchema });
/** One unpaired answer (TRL's unpaired preference format): `label` true when desirable; `group` its ranking (or rating). */
export const UnpairedRowSchema = z.object({ prompt: PromptContentSchema, completion: AnswerContentSchema, label: z.boolean(), group: z.string() });
export const DATASET_ROW_SCHEMAS = {
  pretrain: PretrainRowSchema,
  sft: SftRowSchema,
  reward: PreferencePairRowSchema,
  dpo: PreferencePairRowSchema,
  ppo: PromptRowSchema,
  grpo: PromptRowSchema,
  kto: UnpairedRowSchema,
  best_of_n: PromptRowSchema,
  generate: PromptRowSchema,
} as const;

/** What a job's frozen dataset file holds (jobs/<id>/dataset.jsonl in the artifact store). */
export const DatasetSnapshotSchema = z.object({
  path: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  /** rows, plus per-kind counts (demonstrations, rankings, pairs, prompts, characters…) */
  counts: z.record(z.string(), z.number()),
  source: z.string(),
  frozenAt: TimestampSchema,
});
export type DatasetSnapshot = z.infer<typeof DatasetSnapshotSchema>;

export const JobResponseSchema = z.object({ job: JobSchema });

/** One progress event: step plus whatever the trainer reports (loss, valLoss, reward, kl, tokensPerSecond, etaSeconds…). */
export const JobMetricSchema = z.object({
  id: z.string(),
  step: z.number().int(),
  data: z.record(z.string(), z.unknown()),
  createdAt: TimestampSchema,
});
export type JobMetric = z.infer<typeof JobMetricSchema>;

// GET /v1/projects/:projectId/jobs/throughput (researcher): training speed measured on this
// installation, from the latest finished jobs of each kind and model preset (empty until one ran)
export const ThroughputSchema = z.object({ kind: JobKindSchema, preset: z.string(), tokensPerSecond: z.number(), jobs: z.number().int() });
export type Throughput = z.infer<typeof ThroughputSchema>;
export const ThroughputResponseSchema = z.object({ items: z.array(ThroughputSchema) });
export type ThroughputResponse = z.infer<typeof ThroughputResponseSchema>;

/** A log line: `message` in English; `code` and `params` (when set) let a UI say it in its language. */
export const JobLogSchema = z.object({
  id: z.string(),
  level: z.string(),
  message: z.string(),
  code: z.string().nullable(),
  params: z.record(z.string(), z.unknown()).nullable(),
  createdAt: TimestampSchema,
});
export type JobLog = z.infer<typeof JobLogSchema>;

// GET /v1/jobs/:id (researcher): the job with its whole metrics history and log
export const JobDetailResponseSchema = z.object({ job: JobSchema, metrics: z.array(JobMetricSchema), logs: z.array(JobLogSchema) });
export type JobDetailResponse = z.infer<typeof JobDetailResponseSchema>;

// GET /v1/jobs/:id/events (researcher): Server-Sent Events. Each event's data is JSON:
//   event: metric  → JobMetric       event: log → JobLog
//   event: status  → { job }          (sent first, on every change, and last when the job is finished)
export const JOB_EVENT_TYPES = ['status', 'metric', 'log'] as const;

// GET /v1/jobs/:id/model-preference (researcher), for a generate job with several models: how often
// human rankings put one model's answer above another model's answer to the same prompt.
export const ModelPreferenceSchema = z.object({
  modelId: IdSchema,
  modelName: z.string(),
  /** answer pairs across models where this model's answer ranked higher / lower */
  wins: z.number().int(),
  losses: z.number().int(),
  /** wins / (wins + losses); null without any such pair */
  winRate: z.number().nullable(),
  /** A judged job's means over this model's answers: reward-model score and log-ratio to the reference (null when not judged) */
  meanReward: z.number().nullable(),
  kl: z.number().nullable(),
  /** From the model's metrics: how it was trained (ppo, grpo, dpo, kto, best_of_n) and its job's wall time */
  method: z.string().nullable(),
  wallSeconds: z.number().nullable(),
});
export const ModelPreferenceResponseSchema = z.object({
  jobId: IdSchema,
  /** non-skipped rankings of the job's comparisons */
  rankings: z.number().int(),
  /** cross-model answer pairs those rankings ordered */
  pairs: z.number().int(),
  models: z.array(ModelPreferenceSchema),
  /** The judge's models, when the job scored its answers */
  judge: z.object({ rewardModelId: IdSchema, referenceModelId: IdSchema }).nullable(),
});
export type ModelPreferenceResponse = z.infer<typeof ModelPreferenceResponseSchema>;

// GET /v1/models/:id (researcher): the model, its ancestors (parent first), its files with sha256,
// where it came from (imported models) and its exports, newest first
export const ModelDetailResponseSchema = z.object({
  model: ModelSchema,
  lineage: z.array(ModelSchema),
  files: z.array(z.object({ path: z.string(), bytes: z.number().int(), sha256: z.string() })),
  provenance: ModelProvenanceSchema.nullable(),
  exports: z.array(ModelExportSchema),
});
export type ModelDetailResponse = z.infer<typeof ModelDetailResponseSchema>;
