import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateRaterExclusionRequestSchema,
  IdParamsSchema,
  OkResponseSchema,
  ProjectParamsSchema,
  RaterExclusionListResponseSchema,
  RaterExclusionResponseSchema,
  RaterStatsResponseSchema,
  raterQuality,
  type RankingOrder,
} from '@jielong/shared';
import { access, requireProject } from '../access.ts';
import { notFound } from '../errors.ts';
import { exclusionInclude, isExcluded, projectExclusions, toExclusion } from '../services/exclusions.ts';

// Quality control of raters, for researchers: per-rater statistics (with accuracy on gold
// comparisons) and exclusions of a rater's rankings from the data.
const qualityRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/rater-stats',
    { config: { access: access.project('researcher') }, schema: { tags: ['quality'], params: ProjectParamsSchema, response: { 200: RaterStatsResponseSchema } } },
    async (req) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      const [rankings, gold, exclusions] = await Promise.all([
        app.prisma.ranking.findMany({
          where: { comparison: { projectId: project.id } },
          select: { raterId: true, comparisonId: true, order: true, skipped: true, timeSpentMs: true, createdAt: true, rater: { select: { displayName: true } } },
        }),
        app.prisma.comparison.findMany({ where: { projectId: project.id, status: 'gold' }, select: { id: true, goldOrder: true } }),
        projectExclusions(app.prisma, project.id),
      ]);
      const goldOrders = new Map(gold.map((c) => [c.id, c.goldOrder as RankingOrder]));
      const names = new Map(rankings.map((r) => [r.raterId, r.rater.displayName]));
      const stats = raterQuality(
        rankings.map((r) => ({ ...r, order: r.order as RankingOrder })),
        goldOrders,
      );
      return {
        goldComparisons: gold.length,
        items: stats
          .map((s) => {
            const own = exclusions.filter((e) => e.raterId === s.raterId);
            return {
              ...s,
              raterName: names.get(s.raterId)!,
              excludedRankings: rankings.filter((r) => r.raterId === s.raterId && !r.skipped && isExcluded(r, own)).length,
              exclusions: own.map(toExclusion),
            };
          })
          .sort((a, b) => b.rankings - a.rankings || a.raterName.localeCompare(b.raterName)),
      };
    },
  );

  app.get(
    '/projects/:projectId/rater-exclusions',
    { config: { access: access.project('researcher') }, schema: { tags: ['quality'], params: ProjectParamsSchema, response: { 200: RaterExclusionListResponseSchema } } },
    async (req) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      return { items: (await projectExclusions(app.prisma, project.id)).map(toExclusion) };
    },
  );

  app.post(
    '/projects/:projectId/rater-exclusions',
    {
      config: { idempotent: true, access: access.project('researcher') },
      schema: { tags: ['quality'], params: ProjectParamsSchema, body: CreateRaterExclusionRequestSchema, response: { 201: RaterExclusionResponseSchema } },
    },
    async (req, reply) => {
      const { project, user } = await requireProject(req, req.params.projectId, ['researcher']);
      const { raterId, from, until, reason } = req.body;
      // anyone who ranked here, or is a member: a rater removed from the project still has rankings in it
      const known =
        (await app.prisma.projectMember.findUnique({ where: { projectId_userId: { projectId: project.id, userId: raterId } } })) ??
        (await app.prisma.ranking.findFirst({ where: { raterId, comparison: { projectId: project.id } }, select: { id: true } }));
      if (!known) throw notFound('rater', 'raterId');
      const exclusion = await app.prisma.raterExclusion.create({
        data: { projectId: project.id, raterId, from: from ? new Date(from) : null, until: until ? new Date(until) : null, reason, createdById: user.id },
        include: exclusionInclude,
      });
      return reply.code(201).send({ exclusion: toExclusion(exclusion) });
    },
  );

  app.delete(
    '/rater-exclusions/:id',
    { config: { access: access.project('researcher') }, schema: { tags: ['quality'], params: IdParamsSchema, response: { 200: OkResponseSchema } } },
    async (req) => {
      const exclusion = await app.prisma.raterExclusion.findUnique({ where: { id: req.params.id } });
      if (!exclusion) throw notFound('exclusion');
      await requireProject(req, exclusion.projectId, ['researcher']);
      await app.prisma.raterExclusion.deleteMany({ where: { id: exclusion.id } });
      return { ok: true as const };
    },
  );
};

export default qualityRoutes;
