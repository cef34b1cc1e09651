import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  IdParamsSchema,
  ProjectParamsSchema,
  RatingTaskResponseSchema,
  SubmitRankingRequestSchema,
  SubmitRankingResponseSchema,
} from '@jielong/shared';
import { access, requireComparisonProject, requireProject } from '../access.ts';
import { toRanking } from '../dto.ts';
import { recordResponse } from '../plugins/idempotency.ts';
import { goldTasks, nextRatingTask, remainingForRater, submitRanking, type SubmittedRanking } from '../services/rating.ts';

// The rater's side: blind, shuffled tasks and ranking submissions.
const ratingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/projects/:projectId/rating-task',
    // a rater holds one task at a time, so asking twice hands out the same one
    { config: { access: access.project('rater'), repeatable: true }, schema: { tags: ['rating'], params: ProjectParamsSchema, response: { 200: RatingTaskResponseSchema } } },
    async (req) => {
      const { user } = await requireProject(req, req.params.projectId, ['rater']);
      const task = await nextRatingTask(app.prisma, req.params.projectId, user.id, app.config.assignmentTtlMs);
      if (!task) return { task, remaining: 0, remainingCapped: false };
      const { remaining, capped } = await remainingForRater(app.prisma, req.params.projectId, user.id);
      return { task, remaining: remaining + (await goldTasks(app.prisma, task.comparisonId)), remainingCapped: capped };
    },
  );

  app.post(
    '/comparisons/:id/rankings',
    {
      config: { access: access.project('rater'), idempotent: true },
      schema: { tags: ['rating'], params: IdParamsSchema, body: SubmitRankingRequestSchema, response: { 201: SubmitRankingResponseSchema } },
    },
    async (req, reply) => {
      const { user } = await requireComparisonProject(req, req.params.id, ['rater']);
      const toBody = ({ ranking, comparisonStatus }: SubmittedRanking) => ({
        ranking: toRanking(ranking),
        comparisonStatus,
        undoUntil: new Date(ranking.createdAt.getTime() + app.config.undoWindowMs).toISOString(),
      });
      // the key's answer commits with the ranking: a retry after a crash gets this very response
      const submitted = await submitRanking(app.prisma, req.params.id, user.id, req.body, (tx, done) => recordResponse(tx, req, reply, 201, toBody(done)));
      return reply.code(201).send(toBody(submitted));
    },
  );
};

export default ratingRoutes;
