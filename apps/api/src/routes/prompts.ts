import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CreatePromptRequestSchema,
  CreatePromptResponseSchema,
  IdParamsSchema,
  OkResponseSchema,
  ProjectParamsSchema,
  PromptImportResponseSchema,
  PromptListQuerySchema,
  PromptListResponseSchema,
  SkipPromptRequestSchema,
  promptsFromImportLine,
  LanguageSchema,
  TEXT_LIMITS,
} from '@jielong/shared';
import { requireProject } from '../access.ts';
import { badRequest, notFound } from '../errors.ts';
import { toPrompt } from '../dto.ts';
import { upsertPrompt, upsertPrompts, type NewPrompt } from '../services/prompts.ts';
import { parseJsonLines } from '../services/jsonl.ts';

const promptRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/prompts',
    { schema: { tags: ['prompts'], params: ProjectParamsSchema, querystring: PromptListQuerySchema, response: { 200: PromptListResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId);
      const { q, source, limit, offset } = req.query;
      const where = { projectId: req.params.projectId, source, ...(q ? { text: { contains: q, mode: 'insensitive' as const } } : {}) };
      const [items, total] = await Promise.all([
        app.prisma.prompt.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit, skip: offset }),
        app.prisma.prompt.count({ where }),
      ]);
      return { items: items.map(toPrompt), total };
    },
  );

  app.post(
    '/projects/:projectId/prompts',
    {
      config: { idempotent: true },
      schema: {
        tags: ['prompts'],
        params: ProjectParamsSchema,
        body: CreatePromptRequestSchema,
        response: { 200: CreatePromptResponseSchema, 201: CreatePromptResponseSchema },
      },
    },
    async (req, reply) => {
      const { user } = await requireProject(req, req.params.projectId, ['researcher']);
      const { prompt, created } = await upsertPrompt(app.prisma, req.params.projectId, req.body, 'written', user.id);
      return reply.code(created ? 201 : 200).send({ prompt: toPrompt(prompt), created });
    },
  );

  app.post(
    '/projects/:projectId/prompts/import',
    {
      bodyLimit: app.config.importBodyLimit,
      config: { idempotent: true },
      schema: {
        tags: ['prompts'],
        description:
          'JSONL body (application/x-ndjson, optionally Content-Encoding: gzip): {"prompt","language"?} (hh-rlhf dialogue text keeps its turns), ' +
          '{"messages":[{"role","content"}…]} (a dialogue, a user turn last) or alpaca {"instruction","input"?} per line.',
        params: ProjectParamsSchema,
        body: z.string(),
        response: { 200: PromptImportResponseSchema },
      },
    },
    async (req) => {
      const { user } = await requireProject(req, req.params.projectId, ['researcher']);
      const lines = parseJsonLines(req.body);
      const prompts: NewPrompt[] = [];
      for (const { line, value } of lines) {
        if (value.language !== undefined && !LanguageSchema.safeParse(value.language).success) {
          throw badRequest(`line ${line}.language`, `line ${line}: "language" must be a language code such as "en" or "zh"`);
        }
        const found = promptsFromImportLine(value, `line ${line}`);
        if (found.length === 0) throw badRequest(`line ${line}`, `line ${line} has no "prompt", "messages" or "instruction" text`);
        for (const p of found) {
          if (p.text.length > TEXT_LIMITS.prompt) throw badRequest(`line ${line}.prompt`, `line ${line}: the prompt is longer than ${TEXT_LIMITS.prompt} characters`);
          prompts.push(p);
        }
      }
      const { created } = await app.prisma.$transaction((tx) => upsertPrompts(tx, req.params.projectId, prompts, 'imported', user.id), {
        timeout: 120_000,
      });
      return { lines: lines.length, created, duplicates: prompts.length - created };
    },
  );

  app.post(
    '/prompts/:id/skip',
    { schema: { tags: ['prompts'], params: IdParamsSchema, body: SkipPromptRequestSchema, response: { 200: OkResponseSchema } } },
    async (req) => {
      const prompt = await app.prisma.prompt.findUnique({ where: { id: req.params.id } });
      if (!prompt) throw notFound('prompt');
      const { user } = await requireProject(req, prompt.projectId, ['annotator']);
      await app.prisma.writeSkip.upsert({
        where: { promptId_userId: { promptId: prompt.id, userId: user.id } },
        create: { promptId: prompt.id, userId: user.id, reason: req.body.reason },
        update: { reason: req.body.reason },
      });
      return { ok: true as const };
    },
  );
};

export default promptRoutes;
