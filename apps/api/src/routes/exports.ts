import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ProjectParamsSchema, SftExportQuerySchema } from '@jielong/shared';
import { requireProject } from '../access.ts';
import { preferenceJsonLines, sftRows, toJsonLines } from '../services/export.ts';

const NDJSON = 'application/x-ndjson; charset=utf-8';

/** "<project name>-<kind>.jsonl", ASCII-only so the header needs no encoding. */
function attachment(projectName: string, kind: string): string {
  const slug = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'project';
  return `attachment; filename="${slug}-${kind}.jsonl"`;
}

const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/export/sft',
    {
      schema: {
        tags: ['export'],
        description: 'JSONL of accepted demonstrations: {"prompt","completion"} or {"messages":[…]} per line.',
        params: ProjectParamsSchema,
        querystring: SftExportQuerySchema,
        produces: ['application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      // named by format: both land in the same downloads folder and are not interchangeable
      reply.type(NDJSON).header('content-disposition', attachment(project.name, `sft-${req.query.format}`));
      return reply.send(Readable.from(toJsonLines(sftRows(app.prisma, project.id, req.query.format))));
    },
  );

  app.get(
    '/projects/:projectId/export/preferences',
    {
      schema: {
        tags: ['export'],
        description: 'JSONL of {"prompt","chosen","rejected"}: every ordered pair of every ranking; tied pairs and skips yield none.',
        params: ProjectParamsSchema,
        produces: ['application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      reply.type(NDJSON).header('content-disposition', attachment(project.name, 'preferences'));
      return reply.send(Readable.from(preferenceJsonLines(app.prisma, project.id)));
    },
  );
};

export default exportRoutes;
