// Scores on the project's rating scales and thumbs per answer, given with a ranking: checked
// against the project's settings and stored as one AnswerRating row per rated answer.
import type { AnswerRatings, RatingScale } from '@jielong/shared';
import type { Db, Prisma } from '../db.ts';
import { badRequest } from '../errors.ts';

/** What a project asks of ratings beside a ranking. */
export type RatingSettings = { ratingScales: Prisma.JsonValue; thumbs: boolean };

/** The rating settings of a comparison's project. */
export async function ratingSettingsOf(db: Db, comparisonId: string): Promise<RatingSettings> {
  const { project } = await db.comparison.findUniqueOrThrow({ where: { id: comparisonId }, select: { project: { select: { ratingScales: true, thumbs: true } } } });
  return project;
}

/**
 * The AnswerRating rows for a ranking's `ratings`, after checking them against the project's
 * settings: every answer is one of its answers, every score is on one of its scales and in
 * range, every required scale is scored for every answer, and thumbs only where the project asks
 * for them. A 400 names the field, e.g. `ratings.<answerId>.scores.helpfulness`.
 */
export function checkRatings(project: RatingSettings, answerIds: string[], ratings: AnswerRatings): Prisma.AnswerRatingCreateManyRankingInput[] {
  const scales = new Map((project.ratingScales as RatingScale[]).map((s) => [s.key, s]));
  const rows: Prisma.AnswerRatingCreateManyRankingInput[] = [];
  for (const [answerId, { scores, thumb }] of Object.entries(ratings)) {
    if (!answerIds.includes(answerId)) throw badRequest(`ratings.${answerId}`, `ratings: ${answerId} is not an answer of this comparison`);
    for (const [key, value] of Object.entries(scores)) {
      const scale = scales.get(key);
      const field = `ratings.${answerId}.scores.${key}`;
      if (!scale) throw badRequest(field, `${field}: the project has no rating scale ${key}`);
      if (value < scale.min || value > scale.max) throw badRequest(field, `${field}: ${scale.label} goes from ${scale.min} to ${scale.max}, not ${value}`);
    }
    if (thumb !== null && !project.thumbs) throw badRequest(`ratings.${answerId}.thumb`, `ratings.${answerId}.thumb: this project does not ask for thumbs`);
    if (Object.keys(scores).length > 0 || thumb !== null) rows.push({ answerId, scores, thumb: thumb === null ? null : thumb === 'up' });
  }
  for (const scale of scales.values()) {
    if (!scale.required) continue;
    const unscored = answerIds.find((id) => ratings[id]?.scores[scale.key] === undefined);
    if (unscored) throw badRequest(`ratings.${unscored}.scores.${scale.key}`, `ratings.${unscored}.scores.${scale.key}: ${scale.label} must be scored for every answer`);
  }
  return rows;
}

/** Stored rows → the wire's `ratings` (answer id → scores and thumb). */
export function toAnswerRatings(rows: { answerId: string; scores: Prisma.JsonValue; thumb: boolean | null }[]): AnswerRatings {
  return Object.fromEntries(rows.map((r) => [r.answerId, { scores: r.scores as Record<string, number>, thumb: r.thumb === null ? null : r.thumb ? 'up' : 'down' }]));
}
