import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  IdParamsSchema,
  ProjectParamsSchema,
  RATING_REMAINING_CAP,
  RatingTaskResponseSchema,
  SubmitRankingRequestSchema,
  SubmitRankingResponseSchema,
} from '@jielong/shared';
import { access, checkRoles, requireUser } from '../access.ts';
import { toRanking } from '../dto.ts';
import { notFound } from '../errors.ts';
import { idempotencyKeyOf, sendStoredAnswer, takeOverStaleClaim } from '../plugins/idempotency.ts';
import { retryIfConnectionLost } from '../plugins/lost-connection.ts';
import { nextRatingTask, rankingTarget, submitRanking, type RatingTargets, type SubmitOutcome, type SubmittedRanking } from '../services/rating.ts';

// The rater's side: blind, shuffled tasks and ranking submissions. Both are on every rater's path
// many times a minute, and each is one function call: a hand-out reads the project and the
// membership inside it; a submission is checked against its target as kept in memory (read once
// per comparison and per rater and project, RatingTargets), then stored. Who is asking is kept by
// the auth plugin.
const ratingRoutes: FastifyPluginAsyncZod = async (app) => {
  // a rater holds one task at a time: the tasks of the last 20,000 hand-outs are plenty
  const kept: RatingTargets = { answers: await app.keptReads({ max: 20_000 }), members: await app.keptReads() };

  app.post(
    '/projects/:projectId/rating-task',
    // a rater holds one task at a time, so asking twice hands out the same one
    { config: { access: access.project('rater'), repeatable: true }, schema: { tags: ['rating'], params: ProjectParamsSchema, response: { 200: RatingTaskResponseSchema } } },
    async (req) => {
      const handedOut = await nextRatingTask(app.prisma, kept, req.params.projectId, requireUser(req), app.config.assignmentTtlMs);
      if (!handedOut) return { task: null, remaining: 0, remainingCapped: false };
      const { task, gold, remaining } = handedOut;
      // the count is of open comparisons only, and a count that did not drop would give gold away
      return { task, remaining: Math.min(remaining, RATING_REMAINING_CAP) + (gold ? 1 : 0), remainingCapped: remaining > RATING_REMAINING_CAP };
    },
  );

  app.post(
    '/comparisons/:id/rankings',
    {
      // the Idempotency-Key is claimed and answered inside the ranking's own transaction (services/rating.ts)
      config: { access: access.project('rater'), idempotent: true, keyInTransaction: true },
      schema: { tags: ['rating'], params: IdParamsSchema, body: SubmitRankingRequestSchema, response: { 201: SubmitRankingResponseSchema } },
    },
    async (req, reply) => {
      const user = requireUser(req);
      const target = await rankingTarget(app.prisma, kept, req.params.id, user.id);
      if (!target) throw notFound('comparison');
      checkRoles(user, target.member, ['rater']);
      const key = idempotencyKeyOf(req);
      const toBody = ({ ranking, comparisonStatus }: SubmittedRanking) => ({
        ranking: toRanking(ranking),
        comparisonStatus,
        undoUntil: new Date(ranking.createdAt.getTime() + app.config.undoWindowMs).toISOString(),
      });
      // stored as this route's serializer sends it
      const respond = (submitted: SubmittedRanking) => String(reply.serialize(toBody(submitted)));
      const submit = () => submitRanking(app.prisma, req.params.id, user, req.body, target, key, respond);
      // with a key, a try whose connection broke is safe to repeat: it committed with its answer, or not at all
      let outcome: SubmitOutcome = await (key ? retryIfConnectionLost(submit) : submit());
      if (outcome.outcome === 'claimed' && key) {
        await takeOverStaleClaim(app, user.id, key.key, outcome);
        outcome = await submit();
      }
      if (outcome.outcome === 'stored') {
        // serialized once already, when the status it was written with is the final one
        if (outcome.sent) return reply.code(201).type('application/json').serializer(String).send(outcome.sent as never);
        return reply.code(201).send(toBody(outcome.submitted));
      }
      if (outcome.outcome === 'claimed') throw new Error('an Idempotency-Key claim could not be taken over');
      return sendStoredAnswer(reply, outcome.statusCode, outcome.body);
    },
  );
};

export default ratingRoutes;
