import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DashboardQuerySchema, DashboardResponseSchema, ProjectParamsSchema, pairwiseAgreement, reliability, type RankingOrder } from '@jielong/shared';
import { requireProject } from '../access.ts';
import type { Db } from '../db.ts';
import { isExcluded, projectExclusions } from '../services/exclusions.ts';

const DAY_MS = 24 * 3600_000;

/** Rows per UTC day since `since` (timestamps are stored in UTC). */
async function perDay(db: Db, table: 'Prompt' | 'Demonstration' | 'Ranking', projectId: string, since: Date): Promise<Map<string, number>> {
  const rows =
    table === 'Ranking'
      ? await db.$queryRaw<{ day: string; n: number }[]>`
          SELECT to_char(r."createdAt", 'YYYY-MM-DD') AS day, count(*)::int AS n
          FROM "Ranking" r JOIN "Comparison" c ON c.id = r."comparisonId"
          WHERE c."projectId" = ${projectId} AND r."createdAt" >= ${since} AND NOT r.skipped GROUP BY 1`
      : table === 'Prompt'
        ? await db.$queryRaw<{ day: string; n: number }[]>`
          SELECT to_char("createdAt", 'YYYY-MM-DD') AS day, count(*)::int AS n
          FROM "Prompt" WHERE "projectId" = ${projectId} AND "createdAt" >= ${since} GROUP BY 1`
        : await db.$queryRaw<{ day: string; n: number }[]>`
          SELECT to_char("createdAt", 'YYYY-MM-DD') AS day, count(*)::int AS n
          FROM "Demonstration" WHERE "projectId" = ${projectId} AND "createdAt" >= ${since} GROUP BY 1`;
  return new Map(rows.map((r) => [r.day, r.n]));
}

const dashboardRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/dashboard',
    { schema: { tags: ['dashboard'], params: ProjectParamsSchema, querystring: DashboardQuerySchema, response: { 200: DashboardResponseSchema } } },
    async (req) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      const db = app.prisma;
      const projectId = project.id;
      const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
      const since = new Date(today.getTime() - (req.query.days - 1) * DAY_MS);

      const [prompts, demoGroups, comparisonGroups, rankings, skippedRankings, promptDays, demoDays, rankingDays, ranked, exclusions] = await Promise.all([
        db.prompt.count({ where: { projectId } }),
        db.demonstration.groupBy({ by: ['status'], where: { projectId }, _count: { _all: true } }),
        db.comparison.groupBy({ by: ['status'], where: { projectId }, _count: { _all: true } }),
        db.ranking.count({ where: { skipped: false, comparison: { projectId } } }),
        db.ranking.count({ where: { skipped: true, comparison: { projectId } } }),
        perDay(db, 'Prompt', projectId, since),
        perDay(db, 'Demonstration', projectId, since),
        perDay(db, 'Ranking', projectId, since),
        // only comparisons two or more raters rank can show agreement (N = 1 excludes imports)
        db.ranking.findMany({
          where: { skipped: false, comparison: { projectId, requiredRankings: { gt: 1 } } },
          select: { comparisonId: true, order: true, raterId: true, createdAt: true },
        }),
        projectExclusions(db, projectId),
      ]);

      const byComparison = new Map<string, string[][][]>();
      for (const r of ranked) byComparison.set(r.comparisonId, [...(byComparison.get(r.comparisonId) ?? []), r.order as string[][]]);
      let comparisons = 0;
      let comparedPairs = 0;
      let agreedPairs = 0;
      for (const orders of byComparison.values()) {
        if (orders.length < 2) continue;
        const a = pairwiseAgreement(orders);
        comparisons++;
        comparedPairs += a.comparedPairs;
        agreedPairs += a.agreedPairs;
      }

      // α over the rankings that are data, up to each day's end: how reliable the data is, as it grows
      const kept = ranked.filter((r) => !isExcluded(r, exclusions));
      const alphaUpTo = (end: number) => {
        const orders = new Map<string, RankingOrder[]>();
        for (const r of kept) if (r.createdAt.getTime() < end) orders.set(r.comparisonId, [...(orders.get(r.comparisonId) ?? []), r.order as RankingOrder]);
        return reliability(orders.values());
      };
      const overall = alphaUpTo(Infinity);

      const countOf = <S extends string>(groups: { status: S; _count: { _all: number } }[], s: S) => groups.find((g) => g.status === s)?._count._all ?? 0;
      const daily = [];
      for (let t = since.getTime(); t <= today.getTime(); t += DAY_MS) {
        const date = new Date(t).toISOString().slice(0, 10);
        daily.push({ date, prompts: promptDays.get(date) ?? 0, demonstrations: demoDays.get(date) ?? 0, rankings: rankingDays.get(date) ?? 0 });
      }
      return {
        totals: {
          prompts,
          demonstrations: {
            submitted: countOf(demoGroups, 'submitted'),
            accepted: countOf(demoGroups, 'accepted'),
            rejected: countOf(demoGroups, 'rejected'),
          },
          comparisons: { open: countOf(comparisonGroups, 'open'), complete: countOf(comparisonGroups, 'complete'), gold: countOf(comparisonGroups, 'gold') },
          rankings,
          skippedRankings,
        },
        daily,
        agreement: { comparisons, comparedPairs, agreedPairs, rate: comparedPairs ? agreedPairs / comparedPairs : null },
        reliability: {
          alpha: overall.alpha,
          units: overall.units,
          daily: daily.map(({ date }) => ({ date, alpha: alphaUpTo(Date.parse(date) + DAY_MS).alpha })),
        },
      };
    },
  );
};

export default dashboardRoutes;
