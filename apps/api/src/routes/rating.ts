import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  IdParamsSchema,
  ProjectParamsSchema,
  RatingTaskResponseSchema,
  SubmitRankingRequestSchema,
  SubmitRankingResponseSchema,
} from '@jielong/shared';
import { requireProject } from '../access.ts';
import { notFound } from '../errors.ts';
import { toRanking } from '../dto.ts';
import { nextRatingTask, remainingForRater, submitRanking } from '../services/rating.ts';

// The rater's side: blind, shuffled tasks and ranking submissions.
const ratingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/projects/:projectId/rating-task',
    { schema: { tags: ['rating'], params: ProjectParamsSchema, response: { 200: RatingTaskResponseSchema } } },
    async (req) => {
      const { user } = await requireProject(req, req.params.projectId, ['rater']);
      const task = await nextRatingTask(app.prisma, req.params.projectId, user.id, app.config.assignmentTtlMs);
      return { task, remaining: task ? await remainingForRater(app.prisma, req.params.projectId, user.id) : 0 };
    },
  );

  app.post(
    '/comparisons/:id/rankings',
    {
      config: { idempotent: true },
      schema: { tags: ['rating'], params: IdParamsSchema, body: SubmitRankingRequestSchema, response: { 201: SubmitRankingResponseSchema } },
    },
    async (req, reply) => {
      const comparison = await app.prisma.comparison.findUnique({ where: { id: req.params.id }, select: { projectId: true } });
      if (!comparison) throw notFound('comparison');
      const { user } = await requireProject(req, comparison.projectId, ['rater']);
      const { ranking, comparisonStatus } = await submitRanking(app.prisma, req.params.id, user.id, req.body);
      const undoUntil = new Date(ranking.createdAt.getTime() + app.config.undoWindowMs).toISOString();
      return reply.code(201).send({ ranking: toRanking(ranking), comparisonStatus, undoUntil });
    },
  );
};

export default ratingRoutes;
