import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.ts';

// Quality control of raters (researchers): per-rater statistics, gold accuracy and exclusions.

const PairCountsSchema = z.object({
  compared: z.number().int(),
  agreed: z.number().int(),
  /** agreed / compared; null without any compared pair */
  rate: z.number().nullable(),
});

/**
 * A researcher takes a rater's rankings out of the data: all of them (no from/until) or those made
 * in [from, until). Exports, the arena and newly frozen job datasets leave them out; statistics
 * still show them, so the researcher can see why.
 */
export const RaterExclusionSchema = z.object({
  id: IdSchema,
  raterId: IdSchema,
  raterName: z.string(),
  from: TimestampSchema.nullable(),
  until: TimestampSchema.nullable(),
  reason: z.string(),
  createdByName: z.string().nullable(),
  createdAt: TimestampSchema,
});
export type RaterExclusion = z.infer<typeof RaterExclusionSchema>;

// GET /v1/projects/:projectId/rater-stats (researcher)
export const RaterStatsSchema = z.object({
  raterId: IdSchema,
  raterName: z.string(),
  /** non-skipped rankings (gold included) */
  rankings: z.number().int(),
  skips: z.number().int(),
  skipRate: z.number().nullable(),
  /** median time per task (rankings and skips), ms */
  medianTimeMs: z.number().nullable(),
  /** answer pairs judged like each other rater of the same comparisons (see pairwiseAgreement) */
  agreement: PairCountsSchema,
  /** gold comparisons ranked, and their answer pairs judged as the known order says */
  gold: PairCountsSchema.extend({ rankings: z.number().int() }),
  /** rankings of this rater that exclusions take out of the data */
  excludedRankings: z.number().int(),
  exclusions: z.array(RaterExclusionSchema),
});
export type RaterStats = z.infer<typeof RaterStatsSchema>;
export const RaterStatsResponseSchema = z.object({
  /** raters with at least one ranking or skip, most rankings first */
  items: z.array(RaterStatsSchema),
  /** the project's gold comparisons */
  goldComparisons: z.number().int(),
});
export type RaterStatsResponse = z.infer<typeof RaterStatsResponseSchema>;

// GET /v1/projects/:projectId/rater-exclusions (researcher): newest first
export const RaterExclusionListResponseSchema = z.object({ items: z.array(RaterExclusionSchema) });
export type RaterExclusionListResponse = z.infer<typeof RaterExclusionListResponseSchema>;

// POST /v1/projects/:projectId/rater-exclusions (researcher)
export const CreateRaterExclusionRequestSchema = z
  .object({
    raterId: IdSchema,
    /** omitted: from the rater's first ranking */
    from: z.iso.datetime({ offset: true }).optional(),
    /** omitted: with no end (rankings made later are excluded too) */
    until: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().trim().max(1000).default(''),
  })
  .superRefine((v, ctx) => {
    if (v.from && v.until && Date.parse(v.until) <= Date.parse(v.from)) ctx.addIssue({ code: 'custom', path: ['until'], message: 'until must be after from' });
  });
export type CreateRaterExclusionRequest = z.input<typeof CreateRaterExclusionRequestSchema>;
export const RaterExclusionResponseSchema = z.object({ exclusion: RaterExclusionSchema });
export type RaterExclusionResponse = z.infer<typeof RaterExclusionResponseSchema>;
// DELETE /v1/rater-exclusions/:id (researcher): the rankings return to the data → OkResponse

/** What a job's dataset left out, recorded in its datasetSnapshot.excluded. */
export const DatasetExclusionsSchema = z.object({
  /** rankings the exclusions took out */
  rankings: z.number().int(),
  exclusions: z.array(RaterExclusionSchema.pick({ id: true, raterId: true, raterName: true, from: true, until: true, reason: true })),
});
export type DatasetExclusions = z.infer<typeof DatasetExclusionsSchema>;

// GET /v1/projects/:projectId/arena ?rounds=200&seed=1 (researcher): Bradley–Terry scores of the
// models whose answers met in rankings (Elo scale, 1000 = geometric mean), with 95% bootstrap
// intervals over resampled rankings; the same seed gives the same intervals.
export const ArenaQuerySchema = z.object({
  rounds: z.coerce.number().int().min(10).max(2000).default(200),
  seed: z.coerce.number().int().min(0).max(2 ** 32 - 1).default(1),
});
export const ArenaModelSchema = z.object({
  modelId: IdSchema,
  modelName: z.string(),
  score: z.number(),
  lower: z.number(),
  upper: z.number(),
  wins: z.number().int(),
  losses: z.number().int(),
  ties: z.number().int(),
});
export type ArenaModel = z.infer<typeof ArenaModelSchema>;
export const ArenaResponseSchema = z.object({
  /** rankings with at least one pair of answers from two different models */
  rankings: z.number().int(),
  /** cross-model answer pairs in them */
  battles: z.number().int(),
  rounds: z.number().int(),
  seed: z.number().int(),
  /** best first */
  models: z.array(ArenaModelSchema),
});
export type ArenaResponse = z.infer<typeof ArenaResponseSchema>;
