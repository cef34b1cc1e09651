// The dashboard's rankings per day and Krippendorff α up to each day, without reading every
// ranking of the project on each request (issue 13). Writers only append: the triggers of
// migration 20261201170000_dashboard_ledger add a "DashboardChange" row naming the comparison of a
// ranking written, changed or deleted, and every comparison of a rater whose exclusion changed.
// No writer locks a row shared by the project: the submit's only extra work is that one insert.
//
// The dashboard takes those rows (foldDashboardChanges), recomputes the named comparisons from
// their rankings with the project's current exclusions, and adds the difference to what they had
// contributed before ("ComparisonDashboard") to the project's days ("DashboardDay"). α depends on
// the rankings only through sums that add up over comparisons (AlphaSums, packages/shared), so α
// up to a day is α of the sum of the days before: the same answer as over every ranking at once.
// A dashboard's cost is the changes since the last one plus one row per day, not the project's size.
import { addAlphaSums, alphaOfSums, comparisonAlphaSums, noAlphaSums, type Alpha, type AlphaSums, type RankingOrder } from '@jielong/shared';
import type { Db, PrismaClient } from '../db.ts';
import { isExcluded, projectExclusions } from './exclusions.ts';

/** What a comparison adds to one UTC day: its rankings made that day, and how much its α sums grew by the day's end. */
export interface DayContribution extends AlphaSums {
  day: string;
  rankings: number;
}

interface CountedRanking {
  order: RankingOrder;
  raterId: string;
  createdAt: Date;
}

const dayOf = (t: Date) => t.toISOString().slice(0, 10);

/**
 * A comparison's contributions per day from its non-skipped rankings. α takes only the rankings
 * that are data for it: not excluded, and only on comparisons two or more raters rank (N = 1 excludes imports).
 */
export function comparisonDays(rankings: readonly CountedRanking[], countsForAlpha: boolean, exclusions: Parameters<typeof isExcluded>[1]): DayContribution[] {
  const days = new Map<string, DayContribution>();
  const dayEntry = (day: string) => days.get(day) ?? days.set(day, { day, rankings: 0, ...noAlphaSums }).get(day)!;
  for (const r of rankings) dayEntry(dayOf(r.createdAt)).rankings++;
  const kept = countsForAlpha ? rankings.filter((r) => !isExcluded(r, exclusions)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()) : [];
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

/** comparisons recomputed per transaction: short, as a writer of one of them waits for none */
const FOLD_BATCH = 2000;

/**
 * Takes the project's pending changes and brings its days up to date. One dashboard at a time per
 * project (an advisory lock, which writers never take): two would each add the same difference.
 */
export async function foldDashboardChanges(db: PrismaClient, projectId: string): Promise<void> {
  let after = '';
  for (;;) {
    const pending = await db.$queryRaw<{ comparisonId: string }[]>`
      SELECT DISTINCT "comparisonId" FROM "DashboardChange" WHERE "projectId" = ${projectId} AND "comparisonId" > ${after}
      ORDER BY 1 LIMIT ${FOLD_BATCH}`;
    if (!pending.length) return;
    after = pending[pending.length - 1].comparisonId;
    await db.$transaction(async (tx) => foldBatch(tx, projectId, pending.map((p) => p.comparisonId)));
  }
}

async function foldBatch(tx: Db, projectId: string, ids: string[]): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'dashboard ' + projectId}, 0))`;
  // taken first, then read: a change committed after this statement stays for the next dashboard,
  // and everything read below is at least as new as the changes taken
  const taken = [...new Set((await tx.$queryRaw<{ comparisonId: string }[]>`
    DELETE FROM "DashboardChange" WHERE "projectId" = ${projectId} AND "comparisonId" = ANY(${ids}::text[]) RETURNING "comparisonId"`).map((c) => c.comparisonId))];
  if (!taken.length) return;
  const [exclusions, comparisons, rankings, stored] = [
    await projectExclusions(tx, projectId),
    await tx.$queryRaw<{ id: string; requiredRankings: number }[]>`SELECT id, "requiredRankings" FROM "Comparison" WHERE id = ANY(${taken}::text[])`,
    await tx.$queryRaw<(CountedRanking & { comparisonId: string })[]>`
      SELECT "comparisonId", "order", "raterId", "createdAt" FROM "Ranking" WHERE "comparisonId" = ANY(${taken}::text[]) AND NOT skipped`,
    await tx.$queryRaw<{ comparisonId: string; days: DayContribution[] }[]>`
      SELECT "comparisonId", days FROM "ComparisonDashboard" WHERE "comparisonId" = ANY(${taken}::text[])`,
  ];
  const rankingsOf = new Map<string, CountedRanking[]>();
  for (const r of rankings) rankingsOf.set(r.comparisonId, [...(rankingsOf.get(r.comparisonId) ?? []), r]);
  const requiredOf = new Map(comparisons.map((c) => [c.id, c.requiredRankings]));
  const storedOf = new Map(stored.map((s) => [s.comparisonId, s.days]));

  const difference = new Map<string, DayContribution>();
  const add = (d: DayContribution, sign: 1 | -1) => {
    const sum = difference.get(d.day) ?? { day: d.day, rankings: 0, ...noAlphaSums };
    difference.set(d.day, { day: d.day, rankings: sum.rankings + sign * d.rankings, ...addAlphaSums(sum, d, sign) });
  };
  const kept: { comparisonId: string; days: DayContribution[] }[] = [];
  const gone: string[] = [];
  for (const comparisonId of taken) {
    const required = requiredOf.get(comparisonId);
    // a deleted comparison, or one left without rankings, contributes nothing
    const days = required === undefined ? [] : comparisonDays(rankingsOf.get(comparisonId) ?? [], required > 1, exclusions);
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
    await tx.$executeRaw`
      INSERT INTO "DashboardDay"("projectId", day, rankings, units, judgements, strict, disagreement)
      SELECT ${projectId}, d.day, d.rankings, d.units, d.judgements, d.strict, d.disagreement
      FROM unnest(${days.map((d) => d.day)}::date[], ${days.map((d) => d.rankings)}::int[], ${days.map((d) => d.units)}::int[],
                  ${days.map((d) => d.judgements)}::int[], ${days.map((d) => d.strict)}::int[], ${days.map((d) => d.disagreement)}::float8[])
           AS d(day, rankings, units, judgements, strict, disagreement)
      ON CONFLICT ("projectId", day) DO UPDATE SET rankings = "DashboardDay".rankings + excluded.rankings, units = "DashboardDay".units + excluded.units,
        judgements = "DashboardDay".judgements + excluded.judgements, strict = "DashboardDay".strict + excluded.strict,
        disagreement = "DashboardDay".disagreement + excluded.disagreement`;
  }
}

export interface DashboardDays {
  /** non-skipped rankings made on each day of the window */
  rankings: Map<string, number>;
  /** α over the rankings that are data up to each day's end, for the window's days */
  alphaUpTo: Map<string, Alpha>;
  /** α over all of them */
  overall: Alpha;
}

/** The window's days from `since` to `until` (both 'YYYY-MM-DD'), once the pending changes are folded in. */
export async function dashboardDays(db: PrismaClient, projectId: string, since: string, until: string): Promise<DashboardDays> {
  await foldDashboardChanges(db, projectId);
  const rows = await db.$queryRaw<(DayContribution & { day: string })[]>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, rankings, units, judgements, strict, disagreement
    FROM "DashboardDay" WHERE "projectId" = ${projectId} ORDER BY day`;
  const rankings = new Map<string, number>();
  const alphaUpTo = new Map<string, Alpha>();
  let sums = noAlphaSums;
  let i = 0;
  const days: string[] = [];
  for (let t = Date.parse(since); t <= Date.parse(until); t += 24 * 3600_000) days.push(dayOf(new Date(t)));
  for (const day of days) {
    for (; i < rows.length && rows[i].day <= day; i++) {
      sums = addAlphaSums(sums, rows[i]);
      if (rows[i].day === day) rankings.set(day, rows[i].rankings);
    }
    alphaUpTo.set(day, alphaOfSums(sums));
  }
  for (; i < rows.length; i++) sums = addAlphaSums(sums, rows[i]);
  return { rankings, alphaUpTo, overall: alphaOfSums(sums) };
}
