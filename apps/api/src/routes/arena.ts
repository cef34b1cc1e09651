import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ArenaQuerySchema, ArenaResponseSchema, ProjectParamsSchema, arenaScores, rankingBattles, type Battle, type RankingOrder } from '@jielong/shared';
import { access, requireProject } from '../access.ts';
import { comparisonIsData, projectExclusions, rankingIsData } from '../services/exclusions.ts';

// The arena (researchers): Bradley–Terry scores of the project's models from every ranking that
// is data and puts answers of two different models side by side, as Chatbot Arena ranks models.
const arenaRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/arena',
    { config: { access: access.project('researcher') }, schema: { tags: ['models'], params: ProjectParamsSchema, querystring: ArenaQuerySchema, response: { 200: ArenaResponseSchema } } },
    async (req) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      const ranked = rankingIsData(await projectExclusions(app.prisma, project.id));
      const comparisons = await app.prisma.comparison.findMany({
        where: { projectId: project.id, ...comparisonIsData, answers: { some: { modelId: { not: null } } }, rankings: { some: ranked } },
        select: { answers: { select: { id: true, modelId: true } }, rankings: { where: ranked, select: { order: true } } },
      });
      const rankings: Battle[][] = [];
      for (const c of comparisons) {
        const modelOf = new Map(c.answers.map((a) => [a.id, a.modelId]));
        for (const r of c.rankings) {
          const battles = rankingBattles(r.order as RankingOrder, modelOf);
          if (battles.length) rankings.push(battles);
        }
      }
      const { rounds, seed } = req.query;
      const scores = arenaScores(rankings, { rounds, seed });
      const names = new Map(
        (await app.prisma.model.findMany({ where: { id: { in: scores.map((s) => s.model) } }, select: { id: true, name: true } })).map((m) => [m.id, m.name]),
      );
      return {
        rankings: rankings.length,
        battles: rankings.reduce((n, b) => n + b.length, 0),
        rounds,
        seed,
        models: scores.map(({ model, ...s }) => ({ modelId: model, modelName: names.get(model) ?? '(deleted)', ...s })),
      };
    },
  );
};

export default arenaRoutes;
