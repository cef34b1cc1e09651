import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { JobListQuerySchema, JobListResponseSchema, ModelListQuerySchema, ModelListResponseSchema, ProjectParamsSchema } from '@jielong/shared';
import { requireProject } from '../access.ts';
import { toJob, toModel } from '../dto.ts';

// Read-only views of models and training jobs (jobs are created elsewhere).
// Researchers only: model names must not reach raters, who rank blind.
const trainingRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/models',
    { schema: { tags: ['training'], params: ProjectParamsSchema, querystring: ModelListQuerySchema, response: { 200: ModelListResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher']);
      const models = await app.prisma.model.findMany({
        where: { OR: [{ projectId: req.params.projectId }, { projectId: null }], kind: req.query.kind },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      });
      return { items: models.map(toModel) };
    },
  );

  app.get(
    '/projects/:projectId/jobs',
    { schema: { tags: ['training'], params: ProjectParamsSchema, querystring: JobListQuerySchema, response: { 200: JobListResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher']);
      const { status, kind, limit, offset } = req.query;
      const where = { projectId: req.params.projectId, status, kind };
      const [jobs, total] = await Promise.all([
        app.prisma.trainingJob.findMany({
          where,
          include: { output: { select: { id: true } } },
          orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
          take: limit,
          skip: offset,
        }),
        app.prisma.trainingJob.count({ where }),
      ]);
      return { items: jobs.map(toJob), total };
    },
  );
};

export default trainingRoutes;
