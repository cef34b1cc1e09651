import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ComparisonDetailResponseSchema,
  ComparisonListQuerySchema,
  ComparisonListResponseSchema,
  ComparisonResponseSchema,
  CreateComparisonRequestSchema,
  IdParamsSchema,
  ProjectParamsSchema,
} from '@jielong/shared';
import { requireProject } from '../access.ts';
import { notFound } from '../errors.ts';
import { comparisonInclude, rankingInclude, toComparison, toRanking } from '../dto.ts';
import { createComparison } from '../services/comparisons.ts';
import { upsertPrompt } from '../services/prompts.ts';

// The researcher's side of comparisons: they show which model wrote each answer.
// Raters reach comparisons only through the rating task (routes/rating.ts), blind.
const comparisonRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/projects/:projectId/comparisons',
    {
      config: { idempotent: true },
      schema: { tags: ['comparisons'], params: ProjectParamsSchema, body: CreateComparisonRequestSchema, response: { 201: ComparisonResponseSchema } },
    },
    async (req, reply) => {
      const { user, project } = await requireProject(req, req.params.projectId, ['researcher']);
      const { promptId, prompt: given, language, answers, requiredRankings } = req.body;
      const comparison = await app.prisma.$transaction(async (tx) => {
        const newPrompt = typeof given === 'string' ? { text: given, language } : { turns: given, language };
        const prompt = given
          ? (await upsertPrompt(tx, project.id, newPrompt, 'written', user.id)).prompt
          : await tx.prompt.findFirst({ where: { id: promptId, projectId: project.id } });
        if (!prompt) throw notFound('prompt', 'promptId');
        return createComparison(tx, {
          projectId: project.id,
          promptId: prompt.id,
          answers,
          requiredRankings: requiredRankings ?? project.ratersPerComparison,
        });
      });
      return reply.code(201).send({ comparison: toComparison(comparison) });
    },
  );

  app.get(
    '/projects/:projectId/comparisons',
    {
      schema: { tags: ['comparisons'], params: ProjectParamsSchema, querystring: ComparisonListQuerySchema, response: { 200: ComparisonListResponseSchema } },
    },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher']);
      const { status, limit, offset } = req.query;
      const where = { projectId: req.params.projectId, status };
      const [items, total] = await Promise.all([
        app.prisma.comparison.findMany({ where, include: comparisonInclude, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit, skip: offset }),
        app.prisma.comparison.count({ where }),
      ]);
      return { items: items.map(toComparison), total };
    },
  );

  app.get(
    '/comparisons/:id',
    { schema: { tags: ['comparisons'], params: IdParamsSchema, response: { 200: ComparisonDetailResponseSchema } } },
    async (req) => {
      const comparison = await app.prisma.comparison.findUnique({
        where: { id: req.params.id },
        include: { ...comparisonInclude, rankings: { include: rankingInclude, orderBy: { createdAt: 'asc' } } },
      });
      if (!comparison) throw notFound('comparison');
      await requireProject(req, comparison.projectId, ['researcher']);
      return { comparison: toComparison(comparison), rankings: comparison.rankings.map(toRanking) };
    },
  );
};

export default comparisonRoutes;
