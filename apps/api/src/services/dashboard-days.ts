// The dashboard's totals, rankings per day and Krippendorff α up to each day, without reading every
// ranking or comparison of the project on each request (issue 13). Writers only append: the triggers of
// migrations 20261201170000_dashboard_ledger and 20261201170500_dashboard_totals add a
// "DashboardChange" row naming the comparison of a ranking written, changed or deleted, a comparison
// made, deleted or whose status or kept agreement changed, and every comparison of a rater whose
// exclusion changed.
// No writer locks a row shared by the project: a submit's extra work is two such inserts.
//
// The dashboard takes those rows (foldDashboardChanges), recomputes the named comparisons from
// their rankings with the project's current exclusions, and adds the difference to what they had
// contributed before ("ComparisonDashboard") to the project's days ("DashboardDay"). α depends on
// the rankings only through sums that add up over comparisons (AlphaSums, packages/shared), so α
// up to a day is α of the sum of the days before: the same answer as over every ranking at once.
// A dashboard's cost is the changes since the last one plus one row per day, not the project's size.
// The API folds every project's changes in the background as they come (plugins/dashboard-fold.ts),
// so a request folds only the few left (at most `limit` comparisons) and says whether it is up to date.
import { addAlphaSums, alphaOfSums, comparisonAlphaSums, noAlphaSums, pairwiseAgreement, type Alpha, type RankingOrder } from '@jielong/shared';
import type { Db, PrismaClient } from '../db.ts';
import { isExcluded, projectExclusions } from './exclusions.ts';

/** The comparison counts the dashboard's totals add up; a comparison counts them on the day it was made. */
const COMPARISON_COUNTS = ['open', 'complete', 'gold', 'agreementComparisons', 'comparedPairs', 'agreedPairs', 'uncounted'] as const;
/** Every count a day holds (AlphaSums' included), added as they are. */
const COUNTS = ['rankings', 'skips', 'units', 'judgements', 'strict', 'disagreement', ...COMPARISON_COUNTS] as const;

/** What a comparison adds to one UTC day. */
export type DayContribution = { day: string } & Record<(typeof COUNTS)[number], number>;

const emptyDay = (day: string): DayContribution => ({ day, ...(Object.fromEntries(COUNTS.map((k) => [k, 0])) as Record<(typeof COUNTS)[number], number>) });

/** a + sign·b, count by count (a contribution stored before a count existed lacks it: 0) */
function addDay(a: DayContribution, b: Partial<DayContribution>, sign: 1 | -1 = 1): DayContribution {
  const sum = { ...a };
  for (const k of COUNTS) sum[k] += sign * (b[k] ?? 0);
  return sum;
}

interface CountedRanking {
  order: RankingOrder;
  raterId: string;
  createdAt: Date;
  skipped: boolean;
}

interface CountedComparison {
  requiredRankings: number;
  status: 'open' | 'complete' | 'gold';
  comparedPairs: number | null;
  agreedPairs: number | null;
  createdAt: Date;
}

const dayOf = (t: Date) => t.toISOString().slice(0, 10);

/**
 * A comparison's contributions per day: its status and kept agreement on the day it was made (as
 * the totals count them: agreement only where two or more raters rank, N = 1 being imports), its
 * rankings and skips on the days they were made, and its α sums as they grew. α takes only the
 * rankings that are data for it: not skipped, not excluded, and only where two or more raters rank.
 */
export function comparisonDays(c: CountedComparison, rankings: readonly CountedRanking[], exclusions: Parameters<typeof isExcluded>[1]): DayContribution[] {
  const days = new Map<string, DayContribution>();
  const dayEntry = (day: string) => days.get(day) ?? days.set(day, emptyDay(day)).get(day)!;
  const made = dayEntry(dayOf(c.createdAt));
  made[c.status]++;
  if (c.comparedPairs === null) made.uncounted++;
  if (c.requiredRankings > 1) {
    made.comparedPairs = c.comparedPairs ?? 0;
    made.agreedPairs = c.agreedPairs ?? 0;
    made.agreementComparisons = (c.comparedPairs ?? 0) > 0 ? 1 : 0;
  }
  for (const r of rankings) dayEntry(dayOf(r.createdAt))[r.skipped ? 'skips' : 'rankings']++;
  const kept = c.requiredRankings > 1 ? rankings.filter((r) => !r.skipped && !isExcluded(r, exclusions)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()) : [];
  let before = noAlphaSums;
  for (let i = 0; i < kept.length; i++) {
    const day = dayOf(kept[i].createdAt);
    if (i + 1 < kept.length && dayOf(kept[i + 1].createdAt) === day) continue;
    const upToDay = comparisonAlphaSums(kept.slice(0, i + 1).map((r) => r.order));
    Object.assign(dayEntry(day), addAlphaSums(upToDay, before, -1));
    before = upToDay;
  }
  return [...days.values()];
}

/** comparisons recomputed per transaction (writers never wait for one: it locks none of their rows) */
const FOLD_BATCH = 2000;
/** comparisons whose agreement is computed per statement */
const FILL_BATCH = 1000;
/** Prisma's 5 s default is too short for a batch on a busy machine (one that fails leaves its changes for the next dashboard) */
const FOLD_TRANSACTION = { timeout: 120_000 };

/** How much a fold or fill may do: at most `limit` comparisons, `batch` at a time, until `stop()` says so. */
export interface FoldBounds {
  limit?: number;
  batch?: number;
  stop?: () => boolean;
}

/**
 * Takes the project's pending changes, of at most `limit` comparisons, and brings its days up to date
 * with them. One fold at a time per project (an advisory lock, which writers never take): two would
 * each add the same difference. Returns whether changes are still pending.
 */
export async function foldDashboardChanges(db: PrismaClient, projectId: string, { limit = Infinity, batch = FOLD_BATCH, stop }: FoldBounds = {}): Promise<boolean> {
  let after = '';
  for (let left = limit; left > 0 && !stop?.(); ) {
    // walking on from the last batch: without a vacuum the rows taken stay in the index, dead, for a while
    const pending = await db.$queryRaw<{ comparisonId: string }[]>`
      SELECT DISTINCT "comparisonId" FROM "DashboardChange" WHERE "projectId" = ${projectId} AND "comparisonId" > ${after}
      ORDER BY 1 LIMIT ${Math.min(batch, left)}`;
    if (!pending.length) break;
    after = pending[pending.length - 1].comparisonId;
    left -= pending.length;
    await db.$transaction(async (tx) => foldBatch(tx, projectId, pending.map((p) => p.comparisonId)), FOLD_TRANSACTION);
  }
  const [{ pending }] = await db.$queryRaw<{ pending: boolean }[]>`SELECT EXISTS (SELECT 1 FROM "DashboardChange" WHERE "projectId" = ${projectId}) AS pending`;
  return pending;
}

/**
 * Computes the agreement of comparisons whose agreement is unknown (null: ranked before each
 * comparison kept its own, a ranking revised or taken back, or a submission raced by another
 * before 20261201221000_agreement_under_lock), at most `limit` of them, with pairwiseAgreement,
 * the definition the submissions add to (jielong_agreement_with). The change of each names it for
 * the next fold. Returns whether there may be more.
 */
export async function fillAgreement(db: Db, projectId: string, { limit = Infinity, batch: size = FILL_BATCH, stop }: FoldBounds = {}): Promise<boolean> {
  let after = '';
  for (let left = limit; ; ) {
    if (left <= 0 || stop?.()) return true; // perhaps more to fill
    const batch = await db.$queryRaw<{ id: string; version: string; orders: RankingOrder[] }[]>`
      SELECT c.id, c.xmin::text AS version, coalesce((SELECT json_agg(r."order") FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped), '[]') AS orders
      FROM "Comparison" c WHERE c."projectId" = ${projectId} AND c.id > ${after} AND c."comparedPairs" IS NULL
      ORDER BY c.id LIMIT ${Math.min(size, left)}`;
    if (!batch.length) return false;
    const agreements = batch.map((c) => pairwiseAgreement(c.orders));
    // Only where the comparison's row is the version read: a ranking written, revised or taken back
    // since updates that row (its counts, or the agreement it forgets), and the update then skips
    // it (the rows a concurrent writer changed are checked again as they are at commit) rather than
    // store an agreement of the orders before it. Rows a rater's submission holds are skipped, not
    // waited for: they are changing. The next fill computes what was skipped.
    await db.$executeRaw`
      UPDATE "Comparison" c SET "comparedPairs" = a.compared, "agreedPairs" = a.agreed
      FROM unnest(${batch.map((c) => c.id)}::text[], ${batch.map((c) => c.version)}::xid[], ${agreements.map((a) => a.comparedPairs)}::int[], ${agreements.map((a) => a.agreedPairs)}::int[]) AS a(id, version, compared, agreed)
      WHERE c.id = a.id AND c.xmin = a.version
        AND c.id IN (SELECT l.id FROM "Comparison" l WHERE l.id = ANY(${batch.map((c) => c.id)}::text[]) FOR UPDATE SKIP LOCKED)`;
    after = batch[batch.length - 1].id;
    left -= batch.length;
  }
}

/** Projects with changes not yet folded, or with comparisons whose agreement is unknown (index scans, one per project found). */
export async function projectsBehind(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<{ projectId: string }[]>`
    WITH RECURSIVE changed(id) AS (
      (SELECT "projectId" FROM "DashboardChange" ORDER BY 1 LIMIT 1)
      UNION ALL
      SELECT (SELECT "projectId" FROM "DashboardChange" WHERE "projectId" > changed.id ORDER BY 1 LIMIT 1) FROM changed WHERE changed.id IS NOT NULL
    ), unknown(id) AS (
      (SELECT "projectId" FROM "Comparison" WHERE "comparedPairs" IS NULL ORDER BY 1 LIMIT 1)
      UNION ALL
      SELECT (SELECT "projectId" FROM "Comparison" WHERE "comparedPairs" IS NULL AND "projectId" > unknown.id ORDER BY 1 LIMIT 1) FROM unknown WHERE unknown.id IS NOT NULL
    )
    SELECT id AS "projectId" FROM changed WHERE id IS NOT NULL UNION SELECT id FROM unknown WHERE id IS NOT NULL`;
  return rows.map((r) => r.projectId);
}

async function foldBatch(tx: Db, projectId: string, ids: string[]): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'dashboard ' + projectId}, 0))`;
  // taken first, then read: a change committed after this statement stays for the next dashboard,
  // and everything read below is at least as new as the changes taken
  const taken = [...new Set((await tx.$queryRaw<{ comparisonId: string }[]>`
    DELETE FROM "DashboardChange" WHERE "projectId" = ${projectId} AND "comparisonId" = ANY(${ids}::text[]) RETURNING "comparisonId"`).map((c) => c.comparisonId))];
  if (!taken.length) return;
  const exclusions = await projectExclusions(tx, projectId);
  const comparisons = await tx.$queryRaw<(CountedComparison & { id: string })[]>`
    SELECT id, "requiredRankings", status::text, "comparedPairs", "agreedPairs", "createdAt" FROM "Comparison" WHERE id = ANY(${taken}::text[])`;
  const rankings = await tx.$queryRaw<(CountedRanking & { comparisonId: string })[]>`
    SELECT "comparisonId", "order", "raterId", "createdAt", skipped FROM "Ranking" WHERE "comparisonId" = ANY(${taken}::text[])`;
  const stored = await tx.$queryRaw<{ comparisonId: string; days: DayContribution[] }[]>`
    SELECT "comparisonId", days FROM "ComparisonDashboard" WHERE "comparisonId" = ANY(${taken}::text[])`;
  const rankingsOf = new Map<string, CountedRanking[]>();
  for (const r of rankings) rankingsOf.set(r.comparisonId, [...(rankingsOf.get(r.comparisonId) ?? []), r]);
  const comparisonOf = new Map(comparisons.map((c) => [c.id, c]));
  const storedOf = new Map(stored.map((s) => [s.comparisonId, s.days]));

  const difference = new Map<string, DayContribution>();
  const add = (d: DayContribution, sign: 1 | -1) => difference.set(d.day, addDay(difference.get(d.day) ?? emptyDay(d.day), d, sign));
  const kept: { comparisonId: string; days: DayContribution[] }[] = [];
  const gone: string[] = [];
  for (const comparisonId of taken) {
    const c = comparisonOf.get(comparisonId);
    // a deleted comparison contributes nothing
    const days = c ? comparisonDays(c, rankingsOf.get(comparisonId) ?? [], exclusions) : [];
    for (const d of storedOf.get(comparisonId) ?? []) add(d, -1);
    for (const d of days) add(d, 1);
    if (days.length) kept.push({ comparisonId, days });
    else gone.push(comparisonId);
  }

  if (kept.length) {
    await tx.$executeRaw`
      INSERT INTO "ComparisonDashboard"("comparisonId", "projectId", days)
      SELECT id, ${projectId}, days FROM unnest(${kept.map((k) => k.comparisonId)}::text[], ${kept.map((k) => JSON.stringify(k.days))}::jsonb[]) AS k(id, days)
      ON CONFLICT ("comparisonId") DO UPDATE SET days = excluded.days`;
  }
  if (gone.length) await tx.$executeRaw`DELETE FROM "ComparisonDashboard" WHERE "comparisonId" = ANY(${gone}::text[])`;
  const days = [...difference.values()];
  if (days.length) {
    // column names from COUNTS, a constant list: nothing of the request is spliced into the SQL
    const columns = COUNTS.map((k) => `"${k}"`).join(', ');
    const types = COUNTS.map((k) => (k === 'disagreement' ? 'float8[]' : 'int[]'));
    await tx.$executeRawUnsafe(
      `INSERT INTO "DashboardDay"("projectId", day, ${columns})
       SELECT $1, d.* FROM unnest($2::date[], ${types.map((t, i) => `$${i + 3}::${t}`).join(', ')}) AS d(day, ${columns})
       ON CONFLICT ("projectId", day) DO UPDATE SET ${COUNTS.map((k) => `"${k}" = "DashboardDay"."${k}" + excluded."${k}"`).join(', ')}`,
      projectId,
      days.map((d) => d.day),
      ...COUNTS.map((k) => days.map((d) => d[k])),
    );
  }
}

export interface DashboardDays {
  /** every day added up: the project's totals */
  totals: DayContribution;
  /** non-skipped rankings made on each day of the window */
  rankings: Map<string, number>;
  /** α over the rankings that are data up to each day's end, for the window's days */
  alphaUpTo: Map<string, Alpha>;
  /** α over all of them */
  overall: Alpha;
  /** changes were left pending, for the background fold */
  pending: boolean;
}

/** The totals and the window's days from `since` to `until` (both 'YYYY-MM-DD'), once the pending changes of up to `foldLimit` comparisons are folded in. */
export async function dashboardDays(db: PrismaClient, projectId: string, since: string, until: string, foldLimit = Infinity): Promise<DashboardDays> {
  const pending = await foldDashboardChanges(db, projectId, { limit: foldLimit });
  const rows = await db.$queryRawUnsafe<DayContribution[]>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, ${COUNTS.map((k) => `"${k}"`).join(', ')} FROM "DashboardDay" WHERE "projectId" = $1 ORDER BY day`,
    projectId,
  );
  const rankings = new Map<string, number>();
  const alphaUpTo = new Map<string, Alpha>();
  let totals = emptyDay('');
  let i = 0;
  for (let t = Date.parse(since); t <= Date.parse(until); t += 24 * 3600_000) {
    const day = dayOf(new Date(t));
    for (; i < rows.length && rows[i].day <= day; i++) {
      totals = addDay(totals, rows[i]);
      if (rows[i].day === day) rankings.set(day, rows[i].rankings);
    }
    alphaUpTo.set(day, alphaOfSums(totals));
  }
  for (; i < rows.length; i++) totals = addDay(totals, rows[i]);
  return { totals, rankings, alphaUpTo, overall: alphaOfSums(totals), pending };
}
