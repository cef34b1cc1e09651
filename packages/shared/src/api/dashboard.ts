import { z } from 'zod';

// GET /v1/projects/:projectId/dashboard ?days=30 (researcher)
export const DashboardQuerySchema = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) });

export const DashboardResponseSchema = z.object({
  totals: z.object({
    prompts: z.number().int(),
    demonstrations: z.object({ submitted: z.number().int(), accepted: z.number().int(), rejected: z.number().int() }),
    comparisons: z.object({ open: z.number().int(), complete: z.number().int(), gold: z.number().int() }),
    rankings: z.number().int(),
    skippedRankings: z.number().int(),
  }),
  /** one entry per UTC day of the window, oldest first, days without activity included */
  daily: z.array(
    z.object({
      date: z.string(),
      prompts: z.number().int(),
      demonstrations: z.number().int(),
      rankings: z.number().int(),
    }),
  ),
  /** pairwise agreement of raters on the same comparison (see pairwiseAgreement) */
  agreement: z.object({
    comparisons: z.number().int(),
    comparedPairs: z.number().int(),
    agreedPairs: z.number().int(),
    /** agreedPairs / comparedPairs; null when no comparison has two rankings */
    rate: z.number().nullable(),
  }),
  /**
   * Krippendorff's α (nominal) over the pairwise judgements of comparisons two or more raters
   * ranked, excluded rankings left out; `daily` is α over everything ranked up to each day's end
   */
  reliability: z.object({
    alpha: z.number().nullable(),
    units: z.number().int(),
    daily: z.array(z.object({ date: z.string(), alpha: z.number().nullable() })),
  }),
  /**
   * false while recent work is still being counted (the API counts it in the background, within
   * seconds; a project's first dashboard after an upgrade can take minutes): the figures leave it out
   */
  upToDate: z.boolean(),
});
export type DashboardResponse = z.infer<typeof DashboardResponseSchema>;
