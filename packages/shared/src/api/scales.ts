import { z } from 'zod';
import { IdSchema } from './common.ts';
import { PromptContentSchema } from '../dialogue.ts';
import { AssistantTurnListSchema } from './datasets.ts';

// Rating scales: besides ranking a comparison's answers, raters score each answer on the scales
// the project sets (helpfulness 1–7, Open-Assistant's quality labels…) and may give it a thumbs
// up or down. Scores and thumbs travel with the ranking and are stored per answer.

/**
 * One scale. Values are the integers min…max, each a single digit, so that one key press sets a
 * score; a yes/no label is a 0–1 scale.
 */
export const RatingScaleSchema = z
  .object({
    /** stable name in stored scores and exports: lower-case letters, digits, _ */
    key: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a key is lower-case letters, digits and _, starting with a letter (at most 40)'),
    /** what raters read */
    label: z.string().trim().min(1).max(80),
    min: z.number().int().min(0).max(8).default(1),
    max: z.number().int().min(1).max(9).default(7),
    /** words for the ends, e.g. "unhelpful" … "very helpful" */
    minLabel: z.string().trim().max(80).default(''),
    maxLabel: z.string().trim().max(80).default(''),
    /** every answer of a ranking must be scored on it */
    required: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if (s.max <= s.min) ctx.addIssue({ code: 'custom', path: ['max'], message: 'max must be greater than min' });
  });
export type RatingScale = z.output<typeof RatingScaleSchema>;
export type RatingScaleInput = z.input<typeof RatingScaleSchema>;

export const RatingScalesSchema = z
  .array(RatingScaleSchema)
  .max(16)
  .superRefine((scales, ctx) => {
    const seen = new Set<string>();
    scales.forEach((s, i) => {
      if (seen.has(s.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `the key ${s.key} is used twice` });
      seen.add(s.key);
    });
  });

export const ThumbSchema = z.enum(['up', 'down']);
export type Thumb = z.infer<typeof ThumbSchema>;

/** One rater's judgement of one answer beside its rank: scores by scale key, and a thumb. */
export const AnswerRatingSchema = z.object({
  scores: z.record(z.string(), z.number().int()).default({}),
  thumb: ThumbSchema.nullable().default(null),
});
export type AnswerRating = z.output<typeof AnswerRatingSchema>;
export type AnswerRatingInput = z.input<typeof AnswerRatingSchema>;

/** answer id → its rating; answers left out are unrated */
export const AnswerRatingsSchema = z.record(IdSchema, AnswerRatingSchema);
export type AnswerRatings = z.output<typeof AnswerRatingsSchema>;

// GET /v1/projects/:projectId/export/unpaired ?format=standard|conversational (researcher)
// TRL's unpaired preference format (what KTO trains on): one row per thumb a rater gave an
// answer, label true for up and false for down; strings, or turns as the other exports have them.
export const UnpairedExportRowSchema = z.object({ prompt: PromptContentSchema, completion: z.union([z.string(), AssistantTurnListSchema]), label: z.boolean() });
export type UnpairedExportRow = z.infer<typeof UnpairedExportRowSchema>;

// GET /v1/projects/:projectId/export/ratings (researcher)
// One row per scored answer, its scores summed up per scale as Open-Assistant's oasst1 export
// does: { value: mean score, count: how many raters scored it }.
export const RatingsRowSchema = z.object({
  prompt: z.string(),
  completion: z.string(),
  labels: z.record(z.string(), z.object({ value: z.number(), count: z.number().int() })),
});
export type RatingsRow = z.infer<typeof RatingsRowSchema>;
