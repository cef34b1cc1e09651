// Unpaired examples: one answer with a good/bad label, as TRL's KTO trainer takes them
// ({"prompt","completion","label"}). The one query for them: the unpaired export streams it, and
// a job dataset built from thumbs reads it (freezing the rankings it names).
import type { Db, Prisma } from '../db.ts';

const BATCH = 500;

export interface UnpairedExample {
  /** the stored prompt: promptContent / turnsOfPrompt (@jielong/shared) give either format */
  prompt: { text: string; turns: Prisma.JsonValue };
  completion: string;
  /** thumbs up */
  label: boolean;
  /** the ranking the thumb was given with (to freeze it with a dataset) */
  rankingId: string;
  answerId: string;
}

/**
 * Every thumb a rater gave an answer in the project, up → label true, down → false, one row per
 * rater and answer (several raters' thumbs on one answer are several examples, as KTO counts
 * them). Rankings that were skipped give none. Read in batches: constant memory for the export.
 */
export async function* unpairedExamples(db: Db, projectId: string): AsyncGenerator<UnpairedExample> {
  let cursor: { rankingId: string; answerId: string } | undefined;
  for (;;) {
    const batch = await db.answerRating.findMany({
      where: { thumb: { not: null }, ranking: { skipped: false, comparison: { projectId } } },
      select: { rankingId: true, answerId: true, thumb: true, answer: { select: { text: true, comparison: { select: { prompt: { select: { text: true, turns: true } } } } } } },
      orderBy: [{ rankingId: 'asc' }, { answerId: 'asc' }],
      take: BATCH,
      ...(cursor ? { cursor: { rankingId_answerId: cursor }, skip: 1 } : {}),
    });
    for (const r of batch) {
      yield { prompt: r.answer.comparison.prompt, completion: r.answer.text, label: r.thumb!, rankingId: r.rankingId, answerId: r.answerId };
    }
    if (batch.length < BATCH) return;
    const last = batch[batch.length - 1];
    cursor = { rankingId: last.rankingId, answerId: last.answerId };
  }
}
