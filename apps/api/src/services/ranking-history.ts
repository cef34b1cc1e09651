// A rater's own rankings: the history, a change from it, and the undo of a fresh submission.
//
// The rule (see @jielong/shared api/rankings.ts): a ranking can change until a training job's
// dataset is frozen with it. freezeRankings marks it inside the job's repeatable-read dataset
// transaction; a change locks the ranking row and reads the mark, so the two never interleave:
// a change committed after the dataset's snapshot makes the freeze fail with a serialization
// error (and the freeze is retried on a fresh snapshot), a change after the freeze sees the mark.
import type { ChangeRankingRequestSchema, RankingLock, RaterHistoryResponse } from '@jielong/shared';
import type { z } from 'zod';
import { Prisma, type Db, type PrismaClient } from '../db.ts';
import { ApiError, badRequest, forbidden, notFound } from '../errors.ts';
import { rankingInclude, toRanking } from '../dto.ts';
import { checkRatings, ratingSettingsOf } from './answer-ratings.ts';
import { checkOrder, seededShuffle, takenSlots } from './rating.ts';

const TX_OPTIONS = { maxWait: 15_000, timeout: 15_000 };

const frozen = (at: Date) =>
  new ApiError(409, 'ranking_frozen', `a training dataset was frozen with this ranking on ${at.toISOString()}; it can no longer change`);

function lockOf(r: { skipped: boolean; frozenAt: Date | null }): RankingLock {
  if (r.frozenAt) return 'frozen';
  return r.skipped ? 'skipped' : null;
}

/** The rater's rankings and skips in a project, newest first, answers in the order they were shown. */
export async function raterHistory(db: Db, projectId: string, raterId: string, page: { limit: number; offset: number }): Promise<RaterHistoryResponse> {
  const where = { raterId, comparison: { projectId } };
  const [rows, total] = await Promise.all([
    db.ranking.findMany({
      where,
      include: {
        ...rankingInclude,
        comparison: { select: { status: true, prompt: { select: { id: true, text: true } }, answers: { select: { id: true, text: true }, orderBy: { position: 'asc' } } } },
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      take: page.limit,
      skip: page.offset,
    }),
    db.ranking.count({ where }),
  ]);
  return {
    items: rows.map((r) => ({
      ranking: toRanking(r),
      prompt: r.comparison.prompt,
      answers: seededShuffle(r.comparison.answers, `${raterId}:${r.comparisonId}`),
      // a gold comparison stays open to other raters; its rater must not tell it from the rest
      comparisonStatus: r.comparison.status === 'gold' ? 'open' : r.comparison.status,
      locked: lockOf(r),
    })),
    total,
  };
}

/** The ranking's project, for the access check; 404 unless it is the caller's own. */
export async function ownRankingProject(db: Db, rankingId: string, raterId: string): Promise<string> {
  const r = await db.ranking.findUnique({ where: { id: rankingId }, select: { raterId: true, comparison: { select: { projectId: true } } } });
  if (!r) throw notFound('ranking');
  // as with demonstrations: only its author changes or takes back a ranking
  if (r.raterId !== raterId) throw forbidden('only the rater who wrote a ranking may change or undo it');
  return r.comparison.projectId;
}

type LockedRanking = { id: string; raterId: string; comparisonId: string; skipped: boolean; frozenAt: Date | null; createdAt: Date };

async function lockRanking(tx: Db, rankingId: string, raterId: string): Promise<LockedRanking> {
  const [r] = await tx.$queryRaw<LockedRanking[]>`
    SELECT id, "raterId", "comparisonId", skipped, "frozenAt", "createdAt" FROM "Ranking" WHERE id = ${rankingId} FOR UPDATE`;
  if (!r || r.raterId !== raterId) throw notFound('ranking');
  return r;
}

/** Changes the rater's own ranking: a new order, flags, comment or ratings of the same answers. */
export async function changeRanking(prisma: PrismaClient, rankingId: string, raterId: string, input: z.output<typeof ChangeRankingRequestSchema>) {
  return prisma.$transaction(async (tx) => {
    const r = await lockRanking(tx, rankingId, raterId);
    if (r.frozenAt) throw frozen(r.frozenAt);
    if (r.skipped) throw new ApiError(409, 'ranking_skipped', 'a skip cannot be changed into a ranking');
    const answerIds = (await tx.answer.findMany({ where: { comparisonId: r.comparisonId }, select: { id: true } })).map((a) => a.id);
    if (input.order) checkOrder(input.order, answerIds);
    for (const id of Object.keys(input.flags ?? {})) if (!answerIds.includes(id)) throw badRequest(`flags.${id}`, `flags: ${id} is not an answer of this comparison`);
    const ratings = input.ratings && checkRatings(await ratingSettingsOf(tx, r.comparisonId), answerIds, input.ratings);
    if (ratings) await tx.answerRating.deleteMany({ where: { rankingId } });
    return tx.ranking.update({
      where: { id: rankingId },
      data: {
        order: input.order,
        flags: input.flags as Prisma.InputJsonValue | undefined,
        allBad: input.allBad,
        comment: input.comment === undefined ? undefined : input.comment || null,
        changedAt: new Date(),
        ...(ratings ? { ratings: { createMany: { data: ratings } } } : {}),
      },
      include: rankingInclude,
    });
  }, TX_OPTIONS);
}

/**
 * Takes back a ranking or skip within `windowMs` of its submission: the rater holds the slot
 * again (their next rating-task hands the same comparison back), and a comparison it had closed
 * opens again.
 */
export async function undoRanking(prisma: PrismaClient, rankingId: string, raterId: string, windowMs: number, ttlMs: number) {
  return prisma.$transaction(async (tx) => {
    const { comparisonId } = await lockRanking(tx, rankingId, raterId);
    // the comparison's lock first, as submitRanking takes it, then the ranking's again: slots
    // change only under the comparison's lock
    const [c] = await tx.$queryRaw<{ requiredRankings: number; status: string }[]>`
      SELECT "requiredRankings", status::text FROM "Comparison" WHERE id = ${comparisonId} FOR UPDATE`;
    const r = await lockRanking(tx, rankingId, raterId);
    if (r.frozenAt) throw frozen(r.frozenAt);
    if (Date.now() > r.createdAt.getTime() + windowMs) throw new ApiError(409, 'undo_expired', `a submission can be taken back only within ${Math.round(windowMs / 1000)} s; change it from your history instead`);
    await tx.ranking.delete({ where: { id: rankingId } });
    // a ranking held a slot, which its rater keeps; a skip did not, so it gets one only if one is free
    if (!r.skipped || (await takenSlots(tx, comparisonId, raterId)) < c.requiredRankings) {
      const expiresAt = new Date(Date.now() + ttlMs);
      await tx.assignment.upsert({
        where: { comparisonId_raterId: { comparisonId, raterId } },
        create: { comparisonId, raterId, expiresAt },
        update: { completedAt: null, expiresAt },
      });
    }
    if (c.status === 'complete' && (await tx.ranking.count({ where: { comparisonId, skipped: false } })) < c.requiredRankings) {
      await tx.comparison.update({ where: { id: comparisonId }, data: { status: 'open' } });
    }
  }, TX_OPTIONS);
}

/** Marks rankings as frozen into a job's dataset; call inside the dataset's transaction. */
export async function freezeRankings(tx: Db, rankingIds: string[]): Promise<void> {
  if (rankingIds.length === 0) return;
  await tx.$executeRaw`UPDATE "Ranking" SET "frozenAt" = now() WHERE id = ANY(${rankingIds}::text[]) AND "frozenAt" IS NULL`;
}

/** Postgres could not serialize the transaction (a row it read changed meanwhile): run it again. */
export function isSerializationFailure(err: unknown): boolean {
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return err.code === 'P2034' || (err.code === 'P2010' && JSON.stringify(err.meta ?? {}).includes('40001'));
}
