import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { PreferenceExportQuerySchema, ProjectParamsSchema, SftExportQuerySchema } from '@jielong/shared';
import { requireProject } from '../access.ts';
import { preferenceRows, ratingsRows, sftRows, toJsonLines, unpairedRows } from '../services/export.ts';

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
        description:
          'JSONL of accepted demonstrations: {"prompt","completion"} strings (prompt-completion), ' +
          '{"prompt":[turns],"completion":[assistant turn]} (conversational) or {"messages":[…]} (messages) per line.',
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
        description:
          'JSONL of {"prompt","chosen","rejected"}: every ordered pair of every ranking; tied pairs and skips yield none. ' +
          'standard: strings (a dialogue in hh-rlhf form); conversational: the prompt as turns, each answer a one-turn assistant list.',
        params: ProjectParamsSchema,
        querystring: PreferenceExportQuerySchema,
        produces: ['application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      const { format } = req.query;
      reply.type(NDJSON).header('content-disposition', attachment(project.name, format === 'standard' ? 'preferences' : `preferences-${format}`));
      return reply.send(Readable.from(toJsonLines(preferenceRows(app.prisma, project.id, format))));
    },
  );

  app.get(
    '/projects/:projectId/export/unpaired',
    {
      schema: {
        tags: ['export'],
        description: 'JSONL of {"prompt","completion","label"} (TRL unpaired preference, for KTO): one row per thumb a rater gave an answer, up = true.',
        params: ProjectParamsSchema,
        querystring: PreferenceExportQuerySchema,
        produces: ['application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      reply.type(NDJSON).header('content-disposition', attachment(project.name, 'unpaired'));
      return reply.send(Readable.from(toJsonLines(unpairedRows(app.prisma, project.id, req.query.format))));
    },
  );

  app.get(
    '/projects/:projectId/export/ratings',
    {
      schema: {
        tags: ['export'],
        description: 'JSONL of {"prompt","completion","labels":{scale:{"value","count"}}}: each scored answer, the mean of its raters\' scores per scale (as oasst1 exports labels).',
        params: ProjectParamsSchema,
        produces: ['application/x-ndjson'],
      },
    },
    async (req, reply) => {
      const { project } = await requireProject(req, req.params.projectId, ['researcher']);
      reply.type(NDJSON).header('content-disposition', attachment(project.name, 'ratings'));
      return reply.send(Readable.from(toJsonLines(ratingsRows(app.prisma, project.id))));
    },
  );
};

export default exportRoutes;
