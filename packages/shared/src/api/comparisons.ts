import { z } from 'zod';
import { AnswerTextSchema, IdSchema, PromptTextSchema, TimestampSchema } from './common.ts';
import { LanguageSchema } from './prompts.ts';
import { AnswerRatingsSchema } from './scales.ts';
import { ChatMessageSchema, DialogueSchema } from '../dialogue.ts';

export const ComparisonStatusSchema = z.enum(['open', 'complete']);
export type ComparisonStatus = z.infer<typeof ComparisonStatusSchema>;

/** How an answer was sampled; free-form beyond these known keys. */
export const SamplingSchema = z.looseObject({
  temperature: z.number().min(0).max(10).optional(),
  topK: z.number().int().min(0).optional(),
  topP: z.number().min(0).max(1).optional(),
  seed: z.number().int().optional(),
  maxTokens: z.number().int().min(1).optional(),
});
export type Sampling = z.infer<typeof SamplingSchema>;

export const NewAnswerSchema = z.object({
  text: AnswerTextSchema,
  modelId: IdSchema.nullable().optional(),
  sampling: SamplingSchema.nullable().optional(),
});
export type NewAnswer = z.infer<typeof NewAnswerSchema>;

// POST /v1/projects/:projectId/comparisons (researcher)
// The prompt is an existing promptId, or a new text or dialogue (stored once per project); the
// answers are candidate next assistant turns.
export const CreateComparisonRequestSchema = z
  .object({
    promptId: IdSchema.optional(),
    prompt: z.union([PromptTextSchema, DialogueSchema]).optional(),
    language: LanguageSchema.optional(),
    answers: z.array(NewAnswerSchema).min(2).max(16),
    /** defaults to the project's ratersPerComparison */
    requiredRankings: z.number().int().min(1).max(50).optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.promptId === undefined) === (v.prompt === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['promptId'], message: 'give exactly one of promptId or prompt' });
    }
  });
export type CreateComparisonRequest = z.infer<typeof CreateComparisonRequestSchema>;

/** Researcher's view of an answer: with the model that wrote it. */
export const AnswerSchema = z.object({
  id: IdSchema,
  position: z.number().int(),
  text: z.string(),
  modelId: IdSchema.nullable(),
  modelName: z.string().nullable(),
  sampling: z.record(z.string(), z.unknown()).nullable(),
});
export type Answer = z.infer<typeof AnswerSchema>;

export const AnswerFlagSchema = z.enum(['harmful', 'incorrect', 'off-topic']);
export type AnswerFlag = z.infer<typeof AnswerFlagSchema>;

export const RankingSchema = z.object({
  id: IdSchema,
  comparisonId: IdSchema,
  raterId: IdSchema,
  raterName: z.string(),
  /** best first; inner arrays are groups of tied answer ids; [] when skipped */
  order: z.array(z.array(IdSchema)),
  flags: z.record(z.string(), z.array(AnswerFlagSchema)),
  allBad: z.boolean(),
  comment: z.string().nullable(),
  timeSpentMs: z.number().int(),
  skipped: z.boolean(),
  skipReason: z.string().nullable(),
  /** answer id → scores on the project's scales and a thumb */
  ratings: AnswerRatingsSchema,
  createdAt: TimestampSchema,
  /** when the rater last changed it from their history */
  changedAt: TimestampSchema.nullable(),
  /** when a training job's dataset was first frozen with it; it cannot change from then on */
  frozenAt: TimestampSchema.nullable(),
});
export type Ranking = z.infer<typeof RankingSchema>;

export const ComparisonSchema = z.object({
  id: IdSchema,
  projectId: IdSchema,
  promptId: IdSchema,
  promptText: z.string(),
  /** the dialogue the answers continue (a plain prompt: its one user turn) */
  promptTurns: z.array(ChatMessageSchema),
  status: ComparisonStatusSchema,
  requiredRankings: z.number().int(),
  /** rankings that are not skips */
  rankingsCount: z.number().int(),
  jobId: IdSchema.nullable(),
  createdAt: TimestampSchema,
  answers: z.array(AnswerSchema),
});
export type Comparison = z.infer<typeof ComparisonSchema>;
export const ComparisonResponseSchema = z.object({ comparison: ComparisonSchema });
export type ComparisonResponse = z.infer<typeof ComparisonResponseSchema>;

// GET /v1/comparisons/:id (researcher): with its rankings
export const ComparisonDetailResponseSchema = z.object({ comparison: ComparisonSchema, rankings: z.array(RankingSchema) });
export type ComparisonDetailResponse = z.infer<typeof ComparisonDetailResponseSchema>;

// GET /v1/projects/:projectId/comparisons ?status&limit&offset (researcher)
export const ComparisonListQuerySchema = z.object({
  status: ComparisonStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const ComparisonListResponseSchema = z.object({ items: z.array(ComparisonSchema), total: z.number().int() });
export type ComparisonListResponse = z.infer<typeof ComparisonListResponseSchema>;

/** What a rater sees: answers shuffled for them, with no model names or ids. */
export const RatingTaskSchema = z.object({
  comparisonId: IdSchema,
  /** turns: the dialogue the answers continue, a user turn last (a plain prompt: its one user turn) */
  prompt: z.object({ id: IdSchema, text: z.string(), turns: z.array(ChatMessageSchema), language: z.string() }),
  answers: z.array(z.object({ id: IdSchema, text: z.string() })),
  /** the slot is held for the caller until then */
  expiresAt: TimestampSchema,
});
export type RatingTask = z.infer<typeof RatingTaskSchema>;

// POST /v1/projects/:projectId/rating-task (rater): hands out (or hands back) a comparison the
// caller has not ranked, reserving one of its N slots; task = null when nothing is left.
export const RatingTaskResponseSchema = z.object({
  task: RatingTaskSchema.nullable(),
  /** comparisons the caller could still rank, the handed-out one included */
  remaining: z.number().int(),
});
export type RatingTaskResponse = z.infer<typeof RatingTaskResponseSchema>;

// POST /v1/comparisons/:id/rankings (rater): a full order (ties allowed) or a skip with a reason.
export const SubmitRankingRequestSchema = z
  .object({
    order: z.array(z.array(IdSchema).min(1)).min(1).optional(),
    /** answer id → flags */
    flags: z.record(IdSchema, z.array(AnswerFlagSchema)).default({}),
    allBad: z.boolean().default(false),
    comment: z.string().trim().max(5000).optional(),
    /** scores on the project's rating scales and thumbs, per answer (ignored on a skip) */
    ratings: AnswerRatingsSchema.default({}),
    timeSpentMs: z.number().int().min(0).max(86_400_000).default(0),
    skipped: z.boolean().default(false),
    skipReason: z.string().trim().min(1).max(1000).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.skipped && !v.skipReason) ctx.addIssue({ code: 'custom', path: ['skipReason'], message: 'a skip needs a reason' });
    if (!v.skipped && !v.order) ctx.addIssue({ code: 'custom', path: ['order'], message: 'order is required unless skipped' });
  });
export type SubmitRankingRequest = z.input<typeof SubmitRankingRequestSchema>;
export const SubmitRankingResponseSchema = z.object({
  ranking: RankingSchema,
  comparisonStatus: ComparisonStatusSchema,
  /** until then the rater may take it back (DELETE /v1/rankings/:id) */
  undoUntil: TimestampSchema,
});
export type SubmitRankingResponse = z.infer<typeof SubmitRankingResponseSchema>;
