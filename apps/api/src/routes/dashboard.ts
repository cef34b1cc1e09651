import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DashboardQuerySchema, DashboardResponseSchema, ProjectParamsSchema } from '@jielong/shared';
import { access, requireProject } from '../access.ts';
import type { Db } from '../db.ts';
import { dashboardDays, fillAgreement } from '../services/dashboard-days.ts';

const DAY_MS = 24 * 3600_000;

/** Rows per UTC day since `since` (timestamps are stored in UTC). */
async function perDay(db: Db, table: 'Prompt' | 'Demonstration', projectId: string, since: Date): Promise<Map<string, number>> {
  const rows =
    table === 'Prompt'
      ? await db.$queryRaw<{ day: string; n: number }[]>`
          SELECT to_char("createdAt", 'YYYY-MM-DD') AS day, count(*)::int AS n
          FROM "Prompt" WHERE "projectId" = ${projectId} AND "createdAt" >= ${since} GROUP BY 1`
      : await db.$queryRaw<{ day: string; n: number }[]>`
          SELECT to_char("createdAt", 'YYYY-MM-DD') AS day, count(*)::int AS n
          FROM "Demonstration" WHERE "projectId" = ${projectId} AND "createdAt" >= ${since} GROUP BY 1`;
  return new Map(rows.map((r) => [r.day, r.n]));
}

/**
 * Comparisons a request folds itself (about 150 ms here, issue 13's benchmark); the background fold
 * (plugins/dashboard-fold.ts) takes the rest, and the answer says when it is not up to date.
 */
const REQUEST_FOLD = 500;

const dashboardRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/dashboard',
    { config: { access: access.project('researcher') }, schema: { tags: ['dashboard'], params: ProjectParamsSchema, querystring: DashboardQuerySchema, response: { 200: DashboardResponseSchema } } },
    async (req) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      const db = app.prisma;
      const projectId = project.id;
      const today = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
      const since = new Date(today.getTime() - (req.query.days - 1) * DAY_MS);

      const window = [since.toISOString().slice(0, 10), today.toISOString().slice(0, 10)] as const;
      // the queries run side by side, each on its own pooled connection
      const [prompts, demoGroups, promptDays, demoDays, kept] = await Promise.all([
        db.prompt.count({ where: { projectId } }),
        db.demonstration.groupBy({ by: ['status'], where: { projectId }, _count: { _all: true } }),
        perDay(db, 'Prompt', projectId, since),
        perDay(db, 'Demonstration', projectId, since),
        // totals, rankings per day and α up to each day, kept per day (services/dashboard-days.ts)
        dashboardDays(db, projectId, ...window, REQUEST_FOLD),
      ]);
      const days = kept.totals.uncounted && !kept.pending ? await fillAgreement(db, projectId, { limit: REQUEST_FOLD }).then(() => dashboardDays(db, projectId, ...window, REQUEST_FOLD)) : kept;
      const { comparedPairs, agreedPairs } = days.totals;

      const countOf = <S extends string>(groups: { status: S; _count: { _all: number } }[], s: S) => groups.find((g) => g.status === s)?._count._all ?? 0;
      const daily = [];
      for (let t = since.getTime(); t <= today.getTime(); t += DAY_MS) {
        const date = new Date(t).toISOString().slice(0, 10);
        daily.push({ date, prompts: promptDays.get(date) ?? 0, demonstrations: demoDays.get(date) ?? 0, rankings: days.rankings.get(date) ?? 0 });
      }
      return {
        totals: {
          prompts,
          demonstrations: {
            submitted: countOf(demoGroups, 'submitted'),
            accepted: countOf(demoGroups, 'accepted'),
            rejected: countOf(demoGroups, 'rejected'),
          },
          comparisons: { open: days.totals.open, complete: days.totals.complete, gold: days.totals.gold },
          rankings: days.totals.rankings,
          skippedRankings: days.totals.skips,
        },
        daily,
        agreement: { comparisons: days.totals.agreementComparisons, comparedPairs, agreedPairs, rate: comparedPairs ? agreedPairs / comparedPairs : null },
        reliability: {
          alpha: days.overall.alpha,
          units: days.overall.units,
          daily: daily.map(({ date }) => ({ date, alpha: days.alphaUpTo.get(date)!.alpha })),
        },
        upToDate: !days.pending && !days.totals.uncounted,
      };
    },
  );
};

export default dashboardRoutes;
