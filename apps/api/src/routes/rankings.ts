import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ChangeRankingRequestSchema,
  IdParamsSchema,
  OkResponseSchema,
  PageQuerySchema,
  ProjectParamsSchema,
  RankingResponseSchema,
  RaterHistoryResponseSchema,
} from '@jielong/shared';
import { requireProject, requireUser } from '../access.ts';
import { toRanking } from '../dto.ts';
import { changeRanking, ownRankingProject, raterHistory, undoRanking } from '../services/ranking-history.ts';

// A rater's own rankings: their history, changing one (until a dataset is frozen with it), and
// taking the last submission back within the undo window.
const rankingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/my-rankings',
    { schema: { tags: ['rating'], params: ProjectParamsSchema, querystring: PageQuerySchema, response: { 200: RaterHistoryResponseSchema } } },
    async (req) => {
      const { user } = await requireProject(req, req.params.projectId, ['rater']);
      return raterHistory(app.prisma, req.params.projectId, user.id, req.query);
    },
  );

  app.patch(
    '/rankings/:id',
    { schema: { tags: ['rating'], params: IdParamsSchema, body: ChangeRankingRequestSchema, response: { 200: RankingResponseSchema } } },
    async (req) => {
      const user = requireUser(req);
      await requireProject(req, await ownRankingProject(app.prisma, req.params.id, user.id), ['rater']);
      return { ranking: toRanking(await changeRanking(app.prisma, req.params.id, user.id, req.body)) };
    },
  );

  app.delete(
    '/rankings/:id',
    { schema: { tags: ['rating'], params: IdParamsSchema, response: { 200: OkResponseSchema } } },
    async (req) => {
      const user = requireUser(req);
      await requireProject(req, await ownRankingProject(app.prisma, req.params.id, user.id), ['rater']);
      await undoRanking(app.prisma, req.params.id, user.id, app.config.undoWindowMs, app.config.assignmentTtlMs);
      return { ok: true as const };
    },
  );
};

export default rankingRoutes;
