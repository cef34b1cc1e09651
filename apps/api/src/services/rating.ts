// Handing comparisons to raters and taking their rankings.
//
// Slots: a comparison needs N (requiredRankings) non-skipped rankings. A slot is taken by a
// non-skipped ranking or by an Assignment that is neither completed nor expired. Every change to
// a comparison's slots happens while holding its row lock (SELECT … FOR UPDATE), so counting and
// taking a slot are one atomic step and two raters can never both get the last one.
import { createHash, randomUUID } from 'node:crypto';
import { pairwiseAgreement, RATING_REMAINING_CAP, turnsOfPrompt, type RatingTask, type SubmitRankingRequestSchema } from '@jielong/shared';
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

// Each query below is one statement of one round trip: the comparisons a hand-out looks at are the
// first few open ones in queue order (the index on projectId, status, createdAt), never all of a
// project's, so a hand-out costs the same in a project of a thousand or a million comparisons.

/**
 * Comparisons the rater could still rank: open, not ranked or skipped by them, and either held by
 * them or with a free slot; counted up to RATING_REMAINING_CAP (`capped`: there are more).
 */
export async function remainingForRater(db: Db, projectId: string, raterId: string): Promise<{ remaining: number; capped: boolean }> {
  // in queue order with a constant limit, so even the generic plan of the prepared statement
  // walks the index from the head and stops, where a parameter limit gets a plan that scans the table
  const [row] = await db.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (SELECT 1 FROM "Comparison" c
      WHERE c."projectId" = ${projectId} AND c.status = 'open'
        AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
        AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
          + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> ${raterId}
               AND a."completedAt" IS NULL AND a."expiresAt" > now())
          < c."requiredRankings"
      ORDER BY c."createdAt" LIMIT ${Prisma.raw(String(RATING_REMAINING_CAP + 1))}) s`;
  return { remaining: Math.min(row.n, RATING_REMAINING_CAP), capped: row.n > RATING_REMAINING_CAP };
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

/** What a task shows, read in the statement that found or took the comparison (see TASK_COLUMNS). */
interface TaskRow {
  id: string;
  expiresAt: Date;
  promptId: string;
  promptText: string;
  /** a dialogue's turns (null: a plain prompt) */
  promptTurns: unknown;
  language: string;
  answers: { id: string; text: string }[];
}

const TASK_COLUMNS = Prisma.sql`c.id, p.id AS "promptId", p.text AS "promptText", p.turns AS "promptTurns", p.language,
  (SELECT json_agg(json_build_object('id', a.id, 'text', a.text) ORDER BY a.position) FROM "Answer" a WHERE a."comparisonId" = c.id) AS answers`;

function toTask(row: TaskRow, raterId: string): RatingTask {
  return {
    comparisonId: row.id,
    prompt: { id: row.promptId, text: row.promptText, turns: turnsOfPrompt({ text: row.promptText, turns: row.promptTurns }), language: row.language },
    // no model ids or names: raters judge blind, in an order of their own
    answers: seededShuffle(row.answers, `${raterId}:${row.id}`),
    expiresAt: row.expiresAt.toISOString(),
  };
}

/**
 * Gold mix-in: with probability goldRate, a gold comparison the rater has not ranked or skipped.
 * Only while ordinary work is left for them, so a queue of nothing but gold never gives it away.
 * Gold has no slots (every rater gets it once), so it needs no row lock; the caller's per-rater
 * advisory lock keeps a double click from taking two. Uses the (projectId, status, createdAt) index.
 */
async function goldForRater(tx: Db, projectId: string, raterId: string): Promise<string | null> {
  const [project] = await tx.$queryRaw<{ goldRate: number }[]>`SELECT "goldRate" FROM "Project" WHERE id = ${projectId}`;
  if (!project || !(Math.random() < project.goldRate)) return null;
  const [gold] = await tx.$queryRaw<{ id: string }[]>`
    SELECT c.id FROM "Comparison" c
    WHERE c."projectId" = ${projectId} AND c.status = 'gold'
      AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
    ORDER BY random() LIMIT 1`;
  if (!gold) return null;
  // remainingForRater's test, stopping at the first comparison that passes
  const [work] = await tx.$queryRaw<{ found: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM "Comparison" c
      WHERE c."projectId" = ${projectId} AND c.status = 'open'
        AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
        AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
          + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> ${raterId}
               AND a."completedAt" IS NULL AND a."expiresAt" > now())
          < c."requiredRankings") AS found`;
  return work.found ? gold.id : null;
}

/** 1 when the handed-out task is gold: remainingForRater counts open comparisons only, and a count that did not drop would give gold away. */
export async function goldTasks(db: Db, comparisonId: string): Promise<number> {
  return db.comparison.count({ where: { id: comparisonId, status: 'gold' } });
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
      // one hand-out at a time per rater (a double click must not take two slots); its own
      // statement, so the next one's snapshot sees what the rater's previous hand-out committed
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'rating:' + raterId}, 0))`;
      const [held] = await tx.$queryRaw<TaskRow[]>`
        SELECT ${TASK_COLUMNS}, a."expiresAt" FROM "Assignment" a
        JOIN "Comparison" c ON c.id = a."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"
        WHERE a."raterId" = ${raterId} AND a."completedAt" IS NULL AND a."expiresAt" > now()
          AND c."projectId" = ${projectId} AND c.status IN ('open', 'gold')
          AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = ${raterId})
        ORDER BY a."assignedAt" LIMIT 1`;
      if (held) return { task: toTask(held, raterId) };
      const gold = mode === 'skip-locked' ? await goldForRater(tx, projectId, raterId) : null;
      if (gold) {
        const now = new Date();
        const expiresAt = new Date(now.getTime() + ttlMs);
        const [taken] = await tx.$queryRaw<TaskRow[]>`
          WITH taken AS (
            INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt") VALUES (${gold}, ${raterId}, ${now}, ${expiresAt})
            ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "assignedAt" = excluded."assignedAt", "expiresAt" = excluded."expiresAt", "completedAt" = NULL
            RETURNING "comparisonId", "expiresAt")
          SELECT ${TASK_COLUMNS}, taken."expiresAt" FROM taken
          JOIN "Comparison" c ON c.id = taken."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"`;
        return { task: toTask(taken, raterId) };
      }

      const lock = mode === 'skip-locked' ? Prisma.sql`FOR UPDATE OF c SKIP LOCKED` : Prisma.sql`FOR UPDATE OF c`;
      const [candidate] = await tx.$queryRaw<{ id: string }[]>`
        SELECT c.id FROM "Comparison" c
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
      // committed in between is only visible to a fresh statement, so this one counts again under
      // the lock and takes the slot only if it is still free.
      const now = new Date();
      const expiresAt = new Date(now.getTime() + ttlMs);
      const [taken] = await tx.$queryRaw<TaskRow[]>`
        WITH taken AS (
          INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt")
          SELECT c.id, ${raterId}, ${now}, ${expiresAt} FROM "Comparison" c
          WHERE c.id = ${candidate.id}
            AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
              + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> ${raterId}
                   AND a."completedAt" IS NULL AND a."expiresAt" > now())
              < c."requiredRankings"
          ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "assignedAt" = excluded."assignedAt", "expiresAt" = excluded."expiresAt", "completedAt" = NULL
          RETURNING "comparisonId", "expiresAt")
        SELECT ${TASK_COLUMNS}, taken."expiresAt" FROM taken
        JOIN "Comparison" c ON c.id = taken."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"`;
      if (!taken) return { retry: 'skip-locked' };
      return { task: toTask(taken, raterId) };
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

/** What a submission is checked against, read by a fresh statement once the comparison is locked. */
interface SubmitState {
  answerIds: string[];
  ranked: boolean;
  holdsSlot: boolean;
  /** non-skipped rankings plus other raters' live assignments */
  takenSlots: number;
  /** the orders of its non-skipped rankings */
  orders: string[][][];
}

/**
 * Stores one rater's ranking (or skip) of a comparison and closes the comparison once it holds
 * its N rankings. The rater must hold an unexpired assignment, or a slot must still be free.
 * Four statements: the row lock, the checks' inputs, then the ranking, the assignment and the
 * closing written together (the caller's `inTransaction` may add its own).
 */
export async function submitRanking(
  prisma: PrismaClient,
  comparisonId: string,
  raterId: string,
  input: RankingInput,
  /** runs last, inside the same transaction (a route may store its answer there) */
  inTransaction?: (tx: Db, submitted: SubmittedRanking) => Promise<void>,
): Promise<SubmittedRanking> {
  return prisma.$transaction(async (tx): Promise<SubmittedRanking> => {
    const [locked] = await tx.$queryRaw<{ requiredRankings: number; status: 'open' | 'complete' | 'gold' }[]>`
      SELECT "requiredRankings", status::text FROM "Comparison" WHERE id = ${comparisonId} FOR UPDATE`;
    if (!locked) throw notFound('comparison');
    const [state] = await tx.$queryRaw<SubmitState[]>`
      SELECT coalesce((SELECT array_agg(a.id) FROM "Answer" a WHERE a."comparisonId" = ${comparisonId}), '{}') AS "answerIds",
        EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = ${comparisonId} AND r."raterId" = ${raterId}) AS ranked,
        EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = ${comparisonId} AND a."raterId" = ${raterId}
                  AND a."completedAt" IS NULL AND a."expiresAt" > now()) AS "holdsSlot",
        ((SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = ${comparisonId} AND NOT r.skipped)
          + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = ${comparisonId} AND a."raterId" <> ${raterId}
               AND a."completedAt" IS NULL AND a."expiresAt" > now()))::int AS "takenSlots",
        coalesce((SELECT json_agg(r."order") FROM "Ranking" r WHERE r."comparisonId" = ${comparisonId} AND NOT r.skipped), '[]') AS orders`;

    if (!input.skipped) {
      checkOrder(input.order!, state.answerIds);
      for (const id of Object.keys(input.flags)) if (!state.answerIds.includes(id)) throw badRequest(`flags.${id}`, `flags: ${id} is not an answer of this comparison`);
    }
    const ratings = input.skipped ? [] : await checkRatings(tx, comparisonId, state.answerIds, input.ratings);
    if (state.ranked) throw conflict('already_ranked', 'you have already ranked this comparison');
    // gold has no slots: every rater gets it once
    if (!input.skipped && !state.holdsSlot && locked.status !== 'gold' && (locked.status === 'complete' || state.takenSlots >= locked.requiredRankings)) {
      throw new ApiError(409, 'comparison_full', 'this comparison already has all its rankings; ask for the next task');
    }

    const now = new Date();
    const order = input.skipped ? [] : input.order!;
    const flags = input.skipped ? {} : input.flags;
    // agreement is kept on the comparison for the dashboard (a skip changes nothing)
    const agreement = input.skipped ? null : pairwiseAgreement([...state.orders, order]);
    // the closing count is this statement's: it sees every committed ranking, but not the one it
    // inserts; a gold comparison never closes
    const [row] = await tx.$queryRaw<(Prisma.RankingModel & { displayName: string; closed: boolean })[]>`
      WITH ranking AS (
        INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", flags, "allBad", comment, "timeSpentMs", skipped, "skipReason", "createdAt")
        VALUES (${randomUUID()}, ${comparisonId}, ${raterId}, ${JSON.stringify(order)}::jsonb, ${JSON.stringify(flags)}::jsonb,
                ${input.skipped ? false : input.allBad}, ${input.comment ?? null}, ${input.timeSpentMs}, ${input.skipped},
                ${input.skipped ? input.skipReason! : null}, ${now})
        RETURNING *),
      assignment AS (
        INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt", "completedAt") VALUES (${comparisonId}, ${raterId}, ${now}, ${now}, ${now})
        ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "completedAt" = excluded."completedAt"),
      comparison AS (
        UPDATE "Comparison" c SET "comparedPairs" = ${agreement?.comparedPairs ?? null}::int, "agreedPairs" = ${agreement?.agreedPairs ?? null}::int,
          status = CASE WHEN c.status = 'open' AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped) + 1 >= c."requiredRankings"
                        THEN 'complete'::"ComparisonStatus" ELSE c.status END
        WHERE c.id = ${comparisonId} AND ${!input.skipped}
        RETURNING c.status)
      SELECT ranking.*, u."displayName", EXISTS (SELECT 1 FROM comparison WHERE status = 'complete') AS closed FROM ranking JOIN "User" u ON u.id = ranking."raterId"`;
    const { displayName, closed, ...ranking } = row;
    const stored = ratings.length ? await tx.answerRating.createManyAndReturn({ data: ratings.map((r) => ({ ...r, rankingId: ranking.id })) }) : [];
    // a gold comparison stays open to the other raters, and the rater must not tell it from the rest
    const status = closed ? 'complete' : locked.status === 'gold' ? 'open' : locked.status;
    const submitted: SubmittedRanking = { ranking: { ...ranking, rater: { displayName }, ratings: stored }, comparisonStatus: status };
    await inTransaction?.(tx, submitted);
    return submitted;
  }, TX_OPTIONS);
}

export type SubmittedRanking = {
  ranking: Prisma.RankingGetPayload<{ include: typeof rankingInclude }>;
  comparisonStatus: 'open' | 'complete';
};
