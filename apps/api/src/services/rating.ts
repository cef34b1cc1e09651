// Handing comparisons to raters and taking their rankings.
//
// Slots: a comparison needs N (requiredRankings) non-skipped rankings. A slot is taken by a
// non-skipped ranking or by an Assignment that is neither completed nor expired. Every change to
// a comparison's slots happens while holding its row lock (SELECT … FOR UPDATE), so counting and
// taking a slot are one atomic step and two raters can never both get the last one.
import { createHash } from 'node:crypto';
import { turnsOfPrompt, type RatingTask, type SubmitRankingRequestSchema } from '@jielong/shared';
import type { z } from 'zod';
import { Prisma, type Db, type PrismaClient } from '../db.ts';
import { ApiError, badRequest, conflict, notFound } from '../errors.ts';
import { rankingInclude } from '../dto.ts';
import { checkRatings } from './answer-ratings.ts';

/** Fisher–Yates driven by sha256(seed): the same rater sees the same order of the same comparison. */
export function seededShuffle<T>(items: T[], seed: string): T[] {
  const out = [...items];
  let pool = createHash('sha256').update(seed).digest();
  let used = 0;
  const next = () => {
    if (used + 4 > pool.length) {
      pool = createHash('sha256').update(pool).digest();
      used = 0;
    }
    const v = pool.readUInt32BE(used);
    used += 4;
    return v / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Comparisons the rater could still rank: open, not ranked or skipped by them, and either held by
 * them or with a free slot.
 */
export async function remainingForRater(db: Db, projectId: string, raterId: string): Promise<number> {
  const [row] = await db.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM "Comparison" c
    WHERE c."projectId" = ${projectId} AND c.status = 'open'
      AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
      AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
        + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> ${raterId}
             AND a."completedAt" IS NULL AND a."expiresAt" > now())
        < c."requiredRankings"`;
  return row.n;
}

/** Slots taken on a comparison, not counting `exceptRaterId`'s own assignment. */
export async function takenSlots(tx: Db, comparisonId: string, exceptRaterId: string): Promise<number> {
  const [row] = await tx.$queryRaw<{ taken: number }[]>`
    SELECT
      (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = ${comparisonId} AND NOT r.skipped)::int +
      (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = ${comparisonId} AND a."raterId" <> ${exceptRaterId}
         AND a."completedAt" IS NULL AND a."expiresAt" > now())::int AS taken`;
  return row.taken;
}

async function toTask(tx: Db, comparisonId: string, raterId: string, expiresAt: Date): Promise<RatingTask> {
  const c = await tx.comparison.findUniqueOrThrow({
    where: { id: comparisonId },
    include: { prompt: true, answers: { orderBy: { position: 'asc' }, select: { id: true, text: true } } },
  });
  return {
    comparisonId: c.id,
    prompt: { id: c.prompt.id, text: c.prompt.text, turns: turnsOfPrompt(c.prompt), language: c.prompt.language },
    // no model ids or names: raters judge blind, in an order of their own
    answers: seededShuffle(c.answers, `${raterId}:${c.id}`),
    expiresAt: expiresAt.toISOString(),
  };
}

const MAX_ATTEMPTS = 50;
const TX_OPTIONS = { maxWait: 15_000, timeout: 15_000 };

type Attempt = { task: RatingTask | null } | { retry: 'skip-locked' | 'wait' };

/**
 * The caller's current task: their unexpired assignment if they hold one, else a new one on the
 * oldest open comparison with a free slot that they have not ranked or skipped. null: nothing left.
 *
 * Each attempt is its own short transaction holding at most one comparison lock, so attempts never
 * deadlock. It first looks past comparisons other raters are being handed right now (SKIP LOCKED);
 * if that finds nothing, it waits for a locked one instead, so a busy moment is not mistaken for
 * an empty queue.
 */
export async function nextRatingTask(prisma: PrismaClient, projectId: string, raterId: string, ttlMs: number): Promise<RatingTask | null> {
  let mode: 'skip-locked' | 'wait' = 'skip-locked';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const outcome: Attempt = await prisma.$transaction(async (tx) => {
      // one hand-out at a time per rater (a double click must not take two slots)
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'rating:' + raterId}, 0))`;
      const held = await tx.assignment.findFirst({
        where: { raterId, completedAt: null, expiresAt: { gt: new Date() }, comparison: { projectId, status: 'open', rankings: { none: { raterId } } } },
        orderBy: { assignedAt: 'asc' },
      });
      if (held) return { task: await toTask(tx, held.comparisonId, raterId, held.expiresAt) };

      const lock = mode === 'skip-locked' ? Prisma.sql`FOR UPDATE OF c SKIP LOCKED` : Prisma.sql`FOR UPDATE OF c`;
      const [candidate] = await tx.$queryRaw<{ id: string; requiredRankings: number }[]>`
        SELECT c.id, c."requiredRankings" FROM "Comparison" c
        WHERE c."projectId" = ${projectId} AND c.status = 'open'
          AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
          AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
            + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."completedAt" IS NULL AND a."expiresAt" > now())
            < c."requiredRankings"
        ORDER BY c."createdAt", c.id
        LIMIT 1
        ${lock}`;
      if (!candidate) return mode === 'wait' ? { task: null } : { retry: 'wait' };
      // The filter above ran on a snapshot taken before the lock: a rater whose transaction
      // committed in between is only visible to a fresh statement, so count again under the lock.
      if ((await takenSlots(tx, candidate.id, raterId)) >= candidate.requiredRankings) return { retry: 'skip-locked' };
      const now = new Date();
      const expiresAt = new Date(now.getTime() + ttlMs);
      await tx.assignment.upsert({
        where: { comparisonId_raterId: { comparisonId: candidate.id, raterId } },
        create: { comparisonId: candidate.id, raterId, assignedAt: now, expiresAt },
        update: { assignedAt: now, expiresAt, completedAt: null },
      });
      return { task: await toTask(tx, candidate.id, raterId, expiresAt) };
    }, TX_OPTIONS);
    if ('task' in outcome) return outcome.task;
    mode = outcome.retry;
  }
  return null;
}

export type RankingInput = z.output<typeof SubmitRankingRequestSchema>;

/** Checks that `order` names every answer of the comparison exactly once (400 naming order.i.j). */
export function checkOrder(order: string[][], answerIds: string[]) {
  const expected = new Set(answerIds);
  const seen = new Set<string>();
  order.forEach((group, i) =>
    group.forEach((id, j) => {
      if (!expected.has(id)) throw badRequest(`order.${i}.${j}`, `order: ${id} is not an answer of this comparison`);
      if (seen.has(id)) throw badRequest(`order.${i}.${j}`, `order: answer ${id} appears more than once`);
      seen.add(id);
    }),
  );
  if (seen.size !== expected.size) {
    const missing = answerIds.filter((id) => !seen.has(id));
    throw badRequest('order', `order must rank every answer; missing ${missing.join(', ')}`);
  }
}

/**
 * Stores one rater's ranking (or skip) of a comparison and closes the comparison once it holds
 * its N rankings. The rater must hold an unexpired assignment, or a slot must still be free.
 */
export async function submitRanking(prisma: PrismaClient, comparisonId: string, raterId: string, input: RankingInput) {
  return prisma.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<{ id: string; requiredRankings: number; status: string }[]>`
      SELECT id, "requiredRankings", status::text FROM "Comparison" WHERE id = ${comparisonId} FOR UPDATE`;
    if (!locked) throw notFound('comparison');
    const answers = await tx.answer.findMany({ where: { comparisonId }, select: { id: true } });
    const answerIds = answers.map((a) => a.id);

    if (!input.skipped) {
      checkOrder(input.order!, answerIds);
      for (const id of Object.keys(input.flags)) if (!answerIds.includes(id)) throw badRequest(`flags.${id}`, `flags: ${id} is not an answer of this comparison`);
    }
    const ratings = input.skipped ? [] : await checkRatings(tx, comparisonId, answerIds, input.ratings);
    if (await tx.ranking.findUnique({ where: { comparisonId_raterId: { comparisonId, raterId } } })) {
      throw conflict('already_ranked', 'you have already ranked this comparison');
    }
    const assignment = await tx.assignment.findUnique({ where: { comparisonId_raterId: { comparisonId, raterId } } });
    const holdsSlot = !!assignment && !assignment.completedAt && assignment.expiresAt > new Date();
    if (!input.skipped && !holdsSlot) {
      if (locked.status === 'complete' || (await takenSlots(tx, comparisonId, raterId)) >= locked.requiredRankings) {
        throw new ApiError(409, 'comparison_full', 'this comparison already has all its rankings; ask for the next task');
      }
    }

    const ranking = await tx.ranking.create({
      data: {
        comparisonId,
        raterId,
        order: input.skipped ? [] : input.order!,
        flags: input.skipped ? {} : (input.flags as Prisma.InputJsonValue),
        allBad: input.skipped ? false : input.allBad,
        comment: input.comment ?? null,
        timeSpentMs: input.timeSpentMs,
        skipped: input.skipped,
        skipReason: input.skipped ? input.skipReason! : null,
        ratings: { createMany: { data: ratings } },
      },
      include: rankingInclude,
    });
    const now = new Date();
    await tx.assignment.upsert({
      where: { comparisonId_raterId: { comparisonId, raterId } },
      create: { comparisonId, raterId, assignedAt: now, expiresAt: now, completedAt: now },
      update: { completedAt: now },
    });
    let status = locked.status as 'open' | 'complete';
    if (!input.skipped && status === 'open') {
      const done = await tx.ranking.count({ where: { comparisonId, skipped: false } });
      if (done >= locked.requiredRankings) {
        await tx.comparison.update({ where: { id: comparisonId }, data: { status: 'complete' } });
        status = 'complete';
      }
    }
    return { ranking, comparisonStatus: status };
  }, TX_OPTIONS);
}
