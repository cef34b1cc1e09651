import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  IdParamsSchema,
  ModelDetailResponseSchema,
  ModelListQuerySchema,
  ModelListResponseSchema,
  ModelProvenanceSchema,
  ProjectParamsSchema,
  type ModelExport,
} from '@jielong/shared';
import { MODEL_MANIFEST, modelPrefix, type ModelArtifactManifest } from '@jielong/db';
import { access, requireProject } from '../access.ts';
import { notFound } from '../errors.ts';
import { toModel } from '../dto.ts';

// The model registry (models are registered by finished jobs, see apps/worker).
// Researchers only: model names must not reach raters, who rank blind.
const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/models',
    { config: { access: access.project('researcher') }, schema: { tags: ['models'], params: ProjectParamsSchema, querystring: ModelListQuerySchema, response: { 200: ModelListResponseSchema } } },
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
    '/models/:id',
    { config: { access: access.project('researcher') }, schema: { tags: ['models'], params: IdParamsSchema, response: { 200: ModelDetailResponseSchema } } },
    async (req) => {
      const model = await app.prisma.model.findUnique({ where: { id: req.params.id } });
      if (!model) throw notFound('model');
      if (model.projectId) await requireProject(req, model.projectId, ['researcher']);
      // lineage: parent, grandparent… up to the first model
      const lineage = [];
      for (let parentId = model.parentId, hops = 0; parentId && hops < 50; hops++) {
        const parent = await app.prisma.model.findUnique({ where: { id: parentId } });
        if (!parent) break;
        lineage.push(toModel(parent));
        parentId = parent.parentId;
      }
      let files: ModelArtifactManifest['files'] = [];
      try {
        files = (JSON.parse((await app.artifacts.get(`${modelPrefix(model.id)}/${MODEL_MANIFEST}`)).toString('utf8')) as ModelArtifactManifest).files;
      } catch {
        // a model registered outside the store (e.g. imported by hand) has no manifest
      }
      const provenance = ModelProvenanceSchema.safeParse((model.config as Record<string, unknown>)?.provenance);
      const exportJobs = await app.prisma.trainingJob.findMany({
        where: { kind: 'export', inputModelIds: { has: model.id } },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      });
      const exports = exportJobs.map((j): ModelExport => {
        const format = (j.hyperparams as { format: ModelExport['format'] }).format;
        return {
          jobId: j.id,
          format,
          status: j.status,
          progress: j.progress,
          error: (j.error as ModelExport['error']) ?? null,
          createdAt: j.createdAt.toISOString(),
          finishedAt: j.finishedAt?.toISOString() ?? null,
          downloadUrl: j.status === 'succeeded' ? `/v1/models/${model.id}/exports/${format}/download` : null,
        };
      });
      return { model: toModel(model), lineage, files, provenance: provenance.success ? provenance.data : null, exports };
    },
  );
};

export default modelRoutes;
