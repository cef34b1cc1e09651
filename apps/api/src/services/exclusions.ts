// Which rankings are data: not skipped, not on a gold comparison (gold measures raters; each is
// ranked by every rater, so it would outweigh the rest), and not taken out by a rater exclusion.
// Exports, the arena and job datasets all filter through here, so they leave out the same rankings.
import type { DatasetExclusions, RaterExclusion } from '@jielong/shared';
import { Prisma, type Db } from '../db.ts';

export const exclusionInclude = { rater: { select: { displayName: true } }, createdBy: { select: { displayName: true } } } as const;
export type ExclusionRow = Prisma.RaterExclusionModel & { rater: { displayName: string }; createdBy: { displayName: string } | null };

export function toExclusion(e: ExclusionRow): RaterExclusion {
  return {
    id: e.id,
    raterId: e.raterId,
    raterName: e.rater.displayName,
    from: e.from?.toISOString() ?? null,
    until: e.until?.toISOString() ?? null,
    reason: e.reason,
    createdByName: e.createdBy?.displayName ?? null,
    createdAt: e.createdAt.toISOString(),
  };
}

export function projectExclusions(db: Db, projectId: string): Promise<ExclusionRow[]> {
  return db.raterExclusion.findMany({ where: { projectId }, include: exclusionInclude, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] });
}

/** The rankings an exclusion covers: its rater's, made in [from, until) (an open end is no bound). */
function covered(e: Pick<ExclusionRow, 'raterId' | 'from' | 'until'>): Prisma.RankingWhereInput {
  return { raterId: e.raterId, createdAt: { ...(e.from ? { gte: e.from } : {}), ...(e.until ? { lt: e.until } : {}) } };
}

/** The same test in memory, for statistics that show excluded rankings beside the others. */
export function isExcluded(r: { raterId: string; createdAt: Date }, exclusions: readonly Pick<ExclusionRow, 'raterId' | 'from' | 'until'>[]): boolean {
  return exclusions.some((e) => e.raterId === r.raterId && (!e.from || r.createdAt >= e.from) && (!e.until || r.createdAt < e.until));
}

/** Rankings of a comparison that are data (use with comparisonIsData on the comparison). */
export function rankingIsData(exclusions: readonly ExclusionRow[]): Prisma.RankingWhereInput {
  return exclusions.length ? { skipped: false, NOT: { OR: exclusions.map(covered) } } : { skipped: false };
}

/** rankingIsData as SQL on a "Ranking" aliased r, for the raw queries of the export. */
export function rankingIsDataSql(exclusions: readonly Pick<ExclusionRow, 'raterId' | 'from' | 'until'>[]): Prisma.Sql {
  const covered = exclusions.map(
    (e) => Prisma.sql`(r."raterId" = ${e.raterId} AND r."createdAt" >= ${e.from ?? new Date(0)} AND r."createdAt" < ${e.until ?? new Date(8.64e15)})`,
  );
  return covered.length ? Prisma.sql`NOT r.skipped AND NOT (${Prisma.join(covered, ' OR ')})` : Prisma.sql`NOT r.skipped`;
}

export const comparisonIsData = { status: { not: 'gold' } } as const satisfies Prisma.ComparisonWhereInput;

/** What a dataset frozen now leaves out: the exclusions and the rankings they cover. */
export async function datasetExclusions(db: Db, projectId: string, exclusions: readonly ExclusionRow[]): Promise<DatasetExclusions> {
  const rankings = exclusions.length
    ? await db.ranking.count({ where: { skipped: false, comparison: { projectId, ...comparisonIsData }, OR: exclusions.map(covered) } })
    : 0;
  return { rankings, exclusions: exclusions.map(({ id, raterId, rater, from, until, reason }) => ({ id, raterId, raterName: rater.displayName, from: from?.toISOString() ?? null, until: until?.toISOString() ?? null, reason })) };
}
