// Handing comparisons to raters and taking their rankings.
//
// Slots: a comparison needs N (requiredRankings) non-skipped rankings. A slot is taken by a
// non-skipped ranking or by an Assignment that is neither completed nor expired. Every change to
// a comparison's slots happens while holding its row lock (SELECT … FOR UPDATE), so counting and
// taking a slot are one atomic step and two raters can never both get the last one.
//
// A hand-out and a submission are each one call of a PL/pgSQL function (migrations
// 20261201160500_rating_statements, 20261201220500_rating_task, 20261202050000_submit_in_one_update):
// one round trip and one commit, which is what a rater waits for; a submission writes its
// comparison's row once. A hand-out's access check is read inside its call; a submission's, and
// validating its order, need no lock and are done here, before it, against what is kept in memory
// (RatingTargets). Its agreement with the other rankings is computed in the call, under the lock.
import { createHash, randomUUID } from 'node:crypto';
import { RATING_REMAINING_CAP, turnsOfPrompt, type Role, type RatingTask, type SubmitRankingRequestSchema } from '@jielong/shared';
import type { z } from 'zod';
import type { Db, PrismaClient } from '../db.ts';
import { ApiError, badRequest, conflict, forbidden, idempotencyInProgress, idempotencyKeyReused, notFound } from '../errors.ts';
import type { RequestKey } from '../plugins/idempotency.ts';
import { checkRoles } from '../access.ts';
import type { KeptReads } from '../kept-reads.ts';
import { prepared } from '../sql.ts';
import type { AuthUser } from '../types.ts';
import { checkRatings, type RatingSettings } from './answer-ratings.ts';

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

/** Slots taken on a comparison, not counting `exceptRaterId`'s own assignment. */
export async function takenSlots(tx: Db, comparisonId: string, exceptRaterId: string): Promise<number> {
  const [row] = await tx.$queryRaw<{ taken: number }[]>`
    SELECT
      (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = ${comparisonId} AND NOT r.skipped)::int +
      (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = ${comparisonId} AND a."raterId" <> ${exceptRaterId}
         AND a."completedAt" IS NULL AND a."expiresAt" > now())::int AS taken`;
  return row.taken;
}

/** What a task shows, as jielong_hand_out returns it. */
interface TaskRow {
  id: string;
  gold: boolean;
  promptId: string;
  promptText: string;
  /** a dialogue's turns (null: a plain prompt) */
  promptTurns: unknown;
  language: string;
  answers: { id: string; text: string }[];
  expiresAt: string;
}

/** A task handed out; `gold`: one of the project's gold comparisons (the rater must not be told). */
export interface HandedOut {
  task: RatingTask;
  gold: boolean;
  /** open comparisons the rater could still rank, the handed-out one among them, up to RATING_REMAINING_CAP + 1 */
  remaining: number;
}

function toTask(row: TaskRow, raterId: string): RatingTask {
  return {
    comparisonId: row.id,
    prompt: { id: row.promptId, text: row.promptText, turns: turnsOfPrompt({ text: row.promptText, turns: row.promptTurns }), language: row.language },
    // no model ids or names: raters judge blind, in an order of their own
    answers: seededShuffle(row.answers, `${raterId}:${row.id}`),
    expiresAt: row.expiresAt,
  };
}

const MAX_ATTEMPTS = 50;

/**
 * The caller's current task in a project: their unexpired assignment if they hold one, else (with
 * probability goldRate) a gold comparison, else a new one on the oldest open comparison with a
 * free slot that they have not ranked or skipped. null: nothing left. 404 for no such project, 403
 * unless the caller may rate in it: the project and the membership are read by the hand-out's own
 * call (jielong_rating_task). An attempt whose locked slot was taken meanwhile is tried again in a
 * new transaction, so no transaction holds two comparison locks.
 */
export async function nextRatingTask(prisma: PrismaClient, kept: RatingTargets, projectId: string, user: AuthUser, ttlMs: number): Promise<HandedOut | null> {
  const goldDraw = Math.random();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const mark = kept.answers.mark();
    const [{ handed }] = await prepared<{ handed: { project?: false; denied?: true; roles?: Role[] | null; retry?: true; task?: TaskRow | null; remaining?: number } }>(
      prisma,
      'jl_rating_task',
      'SELECT "jielong_rating_task"($1, $2, $3, $4, $5, $6) AS handed',
      [projectId, user.id, user.roles.includes('admin'), goldDraw, ttlMs, RATING_REMAINING_CAP],
    );
    if (handed.project === false) throw notFound('project');
    if (handed.denied) {
      // the 403 worded from the roles, as every project route words it; refused either way, never "nothing left"
      checkRoles(user, handed.roles ? { roles: handed.roles } : undefined, ['rater']);
      throw forbidden('needs the rater role in this project');
    }
    if (handed.retry) continue;
    if (!handed.task) return null;
    // the task's answers are all of its comparison's: its submission is checked against them without a read
    kept.answers.keep(handed.task.id, mark, { projectId, answerIds: handed.task.answers.map((a) => a.id) });
    return { task: toTask(handed.task, user.id), gold: handed.task.gold, remaining: handed.remaining! };
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

/** A submission's target as read before it is stored: its project's rating settings, the caller's membership and its answers. */
export interface RankingTarget {
  settings: RatingSettings;
  member: { roles: Role[] } | undefined;
  answerIds: string[];
}

/**
 * What submissions are checked against, kept in memory (kept-reads.ts) so that a submission is one
 * call: a comparison's answers (a hand-out keeps those of the task it gives) and, per project
 * and rater, the project's rating settings and the rater's membership. Forgotten whenever a writer
 * changes any of it.
 */
export interface RatingTargets {
  answers: KeptReads<{ projectId: string; answerIds: string[] }>;
  members: KeptReads<{ settings: RatingSettings; member: { roles: Role[] } | undefined }>;
}

/** null: no such comparison. */
export async function rankingTarget(prisma: PrismaClient, kept: RatingTargets, comparisonId: string, userId: string): Promise<RankingTarget | null> {
  const comparison = kept.answers.get(comparisonId);
  const membership = comparison && kept.members.get(`${comparison.projectId} ${userId}`);
  if (comparison && membership) return { ...membership, answerIds: comparison.answerIds };
  const marks = [kept.answers.mark(), kept.members.mark()] as const;
  const [row] = await prepared<{ projectId: string; ratingScales: RatingSettings['ratingScales']; thumbs: boolean; roles: Role[] | null; answerIds: string[] }>(
    prisma,
    'jl_ranking_target',
    `SELECT p.id AS "projectId", p."ratingScales", p.thumbs, m.roles::text[] AS roles,
       coalesce((SELECT array_agg(a.id) FROM "Answer" a WHERE a."comparisonId" = c.id), '{}') AS "answerIds"
     FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId"
     LEFT JOIN "ProjectMember" m ON m."projectId" = p.id AND m."userId" = $2 WHERE c.id = $1`,
    [comparisonId, userId],
  );
  if (!row) return null;
  const target = {
    settings: { ratingScales: row.ratingScales, thumbs: row.thumbs },
    member: row.roles ? { roles: row.roles } : undefined,
    answerIds: row.answerIds,
  };
  kept.answers.keep(comparisonId, marks[0], { projectId: row.projectId, answerIds: row.answerIds });
  kept.members.keep(`${row.projectId} ${userId}`, marks[1], { settings: target.settings, member: target.member });
  return target;
}

/** A ranking as stored, in the shape toRanking takes. */
export interface StoredRanking {
  id: string;
  comparisonId: string;
  raterId: string;
  order: string[][];
  flags: Record<string, string[]>;
  allBad: boolean;
  comment: string | null;
  timeSpentMs: number;
  skipped: boolean;
  skipReason: string | null;
  createdAt: Date;
  changedAt: null;
  frozenAt: null;
  rater: { displayName: string };
  ratings: { rankingId: string; answerId: string; scores: Record<string, number>; thumb: boolean | null }[];
}

export type SubmittedRanking = { ranking: StoredRanking; comparisonStatus: 'open' | 'complete' };

export type SubmitOutcome =
  /** `sent`: the response as `respond` serialized it, when the status it was written with is the final one */
  | { outcome: 'stored'; submitted: SubmittedRanking; sent?: string }
  /** the key's stored answer to the first request */
  | { outcome: 'replayed'; statusCode: number; body: unknown }
  /** the key is held by a request of the generic Idempotency-Key path (plugins/idempotency.ts) */
  | { outcome: 'claimed'; owner: number | null; claim: string | null; createdAt: Date };

const REFUSALS: Record<string, () => ApiError> = {
  comparison_not_found: () => notFound('comparison'),
  already_ranked: () => conflict('already_ranked', 'you have already ranked this comparison'),
  comparison_full: () => new ApiError(409, 'comparison_full', 'this comparison already has all its rankings; ask for the next task'),
  request_in_progress: idempotencyInProgress,
  idempotency_key_reused: idempotencyKeyReused,
};

const isRefusal = (err: unknown): err is Error & { code: string } => err instanceof Error && (err as { code?: string }).code === 'JL001';

/**
 * Stores one rater's ranking (or skip) of a comparison and closes the comparison once it holds
 * its N rankings. The rater must hold an unexpired assignment, or a slot must still be free.
 * `respond` serializes the response for a stored ranking; with a key it is stored in the same
 * transaction (its comparisonStatus set there). Validation happens first, here: a comparison's
 * answers never change. The comparison's agreement is added to in the call, under its lock.
 */
export async function submitRanking(
  prisma: PrismaClient,
  comparisonId: string,
  rater: { id: string; displayName: string },
  input: RankingInput,
  target: RankingTarget,
  key: RequestKey | null,
  respond: (submitted: SubmittedRanking) => string,
): Promise<SubmitOutcome> {
  if (!input.skipped) {
    checkOrder(input.order!, target.answerIds);
    for (const id of Object.keys(input.flags)) if (!target.answerIds.includes(id)) throw badRequest(`flags.${id}`, `flags: ${id} is not an answer of this comparison`);
  }
  const id = randomUUID();
  const createdAt = new Date();
  const ratings = input.skipped ? [] : checkRatings(target.settings, target.answerIds, input.ratings).map((r) => ({ rankingId: id, answerId: r.answerId, scores: (r.scores ?? {}) as Record<string, number>, thumb: r.thumb ?? null }));
  const ranking: StoredRanking = {
    id,
    comparisonId,
    raterId: rater.id,
    order: input.skipped ? [] : input.order!,
    flags: input.skipped ? {} : input.flags,
    allBad: input.skipped ? false : input.allBad,
    comment: input.comment ?? null,
    timeSpentMs: input.timeSpentMs,
    skipped: input.skipped,
    skipReason: input.skipped ? input.skipReason! : null,
    createdAt,
    changedAt: null,
    frozenAt: null,
    rater: { displayName: rater.displayName },
    ratings,
  };
  // the stored answer is written with comparisonStatus 'open'; the function sets the real one
  const body = key ? respond({ ranking, comparisonStatus: 'open' }) : null;

  let result: { outcome: string; status?: 'open' | 'complete'; statusCode?: number; body?: unknown; owner?: number | null; claim?: string | null; createdAt?: string };
  try {
    [{ result }] = await prepared<{ result: typeof result }>(
      prisma,
      'jl_submit_ranking',
      `SELECT "jielong_submit_ranking"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) AS result`,
      [
        comparisonId, rater.id, id, JSON.stringify(ranking.order), JSON.stringify(ranking.flags), ranking.allBad, ranking.comment,
        ranking.timeSpentMs, ranking.skipped, ranking.skipReason, createdAt.toISOString().replace('Z', ''), JSON.stringify(ratings),
        key?.key ?? null, key?.scope ?? null, key?.requestHash ?? null, body,
      ],
    );
  } catch (err) {
    throw isRefusal(err) && REFUSALS[err.message] ? REFUSALS[err.message]() : err;
  }
  if (result.outcome === 'replayed') return { outcome: 'replayed', statusCode: result.statusCode!, body: result.body };
  if (result.outcome === 'claimed') return { outcome: 'claimed', owner: result.owner ?? null, claim: result.claim ?? null, createdAt: new Date(result.createdAt!) };
  return { outcome: 'stored', submitted: { ranking, comparisonStatus: result.status! }, sent: body !== null && result.status === 'open' ? body : undefined };
}
