import { z } from 'zod';
import { IdSchema } from './common.ts';
import { AnswerFlagSchema, ComparisonStatusSchema, RankingSchema } from './comparisons.ts';
import { AnswerRatingsSchema } from './scales.ts';

// A rater's own rankings: their history, changing one, and taking the last one back.
//
// The rule: a ranking can be changed until a training job's dataset has been frozen with it
// (Ranking.frozenAt), whether or not its comparison has closed: a closed comparison only stops
// handing out slots, while a frozen dataset is what a model was trained on, and the stored
// ranking must keep saying what that training saw. Skips are not changed (a skip held no slot).

/** Why a ranking of the history cannot be changed; null: it can. */
export const RankingLockSchema = z.enum(['frozen', 'skipped']).nullable();
export type RankingLock = z.infer<typeof RankingLockSchema>;

export const RaterHistoryItemSchema = z.object({
  ranking: RankingSchema,
  prompt: z.object({ id: IdSchema, text: z.string() }),
  /** in the order the rater was shown them, so "Answer 2" names the same answer as in the task */
  answers: z.array(z.object({ id: IdSchema, text: z.string() })),
  comparisonStatus: ComparisonStatusSchema,
  locked: RankingLockSchema,
});
export type RaterHistoryItem = z.infer<typeof RaterHistoryItemSchema>;

// GET /v1/projects/:projectId/my-rankings ?limit&offset (rater): the caller's rankings and skips, newest first
export const RaterHistoryResponseSchema = z.object({ items: z.array(RaterHistoryItemSchema), total: z.number().int() });
export type RaterHistoryResponse = z.infer<typeof RaterHistoryResponseSchema>;

// PATCH /v1/rankings/:id (its rater): a new judgement of the same comparison; fields left out stay.
// `ratings`, when given, replaces every rating of the ranking.
export const ChangeRankingRequestSchema = z.object({
  order: z.array(z.array(IdSchema).min(1)).min(1).optional(),
  flags: z.record(IdSchema, z.array(AnswerFlagSchema)).optional(),
  allBad: z.boolean().optional(),
  /** null or "" clears it */
  comment: z.string().trim().max(5000).nullable().optional(),
  ratings: AnswerRatingsSchema.optional(),
});
export type ChangeRankingRequest = z.input<typeof ChangeRankingRequestSchema>;
export const RankingResponseSchema = z.object({ ranking: RankingSchema });
export type RankingResponse = z.infer<typeof RankingResponseSchema>;

// DELETE /v1/rankings/:id (its rater, within the undo window after submitting): the ranking or
// skip is taken back, the rater holds the comparison's slot again, and the next rating-task hands
// the same comparison back. Answers 200 { ok: true }.
