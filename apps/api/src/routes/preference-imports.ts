import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PreferenceImportResponseSchema, ProjectParamsSchema } from '@jielong/shared';
import { access, requireProject } from '../access.ts';
import { importPreferences } from '../services/preference-import.ts';

const preferenceImportRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/projects/:projectId/preferences/import',
    {
      bodyLimit: app.config.importBodyLimit,
      config: { access: access.project('researcher'), idempotent: true },
      schema: {
        tags: ['import'],
        description:
          'JSONL body (application/x-ndjson, optionally Content-Encoding: gzip). Each line: {"prompt","chosen","rejected"} or hh-rlhf {"chosen","rejected"} (whole dialogues split at the last "\\n\\nAssistant:").',
        params: ProjectParamsSchema,
        body: z.string(),
        response: { 200: PreferenceImportResponseSchema },
      },
    },
    async (req) => {
      const { user, project } = await requireProject(req, req.params.projectId, ['researcher']);
      return importPreferences(app.prisma, project.id, user.id, req.body);
    },
  );
};

export default preferenceImportRoutes;
