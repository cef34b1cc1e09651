import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateDemonstrationRequestSchema,
  DemonstrationListQuerySchema,
  DemonstrationListResponseSchema,
  DemonstrationResponseSchema,
  IdParamsSchema,
  ProjectParamsSchema,
  ReviewDemonstrationRequestSchema,
  UpdateDemonstrationRequestSchema,
  WritingTaskResponseSchema,
} from '@jielong/shared';
import type { Prisma } from '../db.ts';
import { access, requireProject } from '../access.ts';
import { forbidden, notFound } from '../errors.ts';
import { demonstrationInclude, toDemonstration, toPrompt } from '../dto.ts';
import { editOwnDemonstration, submitDemonstration } from '../services/demonstrations.ts';
import { upsertPrompt } from '../services/prompts.ts';

const demonstrationRoutes: FastifyPluginAsyncZod = async (app) => {
  const load = async (id: string) => {
    const demonstration = await app.prisma.demonstration.findUnique({ where: { id }, include: demonstrationInclude });
    if (!demonstration) throw notFound('demonstration');
    return demonstration;
  };

  app.get(
    '/projects/:projectId/demonstrations',
    {
      config: { access: access.project('researcher') }, schema: { tags: ['demonstrations'], params: ProjectParamsSchema, querystring: DemonstrationListQuerySchema, response: { 200: DemonstrationListResponseSchema } },
    },
    async (req) => {
      const { mine, status, limit, offset } = req.query;
      // one's own contributions are open to every member; everyone's (the review queue) to reviewers
      const { user } = await requireProject(req, req.params.projectId, mine ? undefined : ['researcher']);
      const where: Prisma.DemonstrationWhereInput = { projectId: req.params.projectId, status, ...(mine ? { authorId: user.id } : {}) };
      const [items, total] = await Promise.all([
        app.prisma.demonstration.findMany({ where, include: demonstrationInclude, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: limit, skip: offset }),
        app.prisma.demonstration.count({ where }),
      ]);
      return { items: items.map(toDemonstration), total };
    },
  );

  app.post(
    '/projects/:projectId/demonstrations',
    {
      config: { access: access.project('annotator'), idempotent: true },
      schema: { tags: ['demonstrations'], params: ProjectParamsSchema, body: CreateDemonstrationRequestSchema, response: { 201: DemonstrationResponseSchema } },
    },
    async (req, reply) => {
      const projectId = req.params.projectId;
      const { user } = await requireProject(req, projectId, ['annotator']);
      const { promptId, instruction, language, answer } = req.body;
      const demonstration = await app.prisma.$transaction(async (tx) => {
        const prompt = instruction
          ? (await upsertPrompt(tx, projectId, { text: instruction, language }, 'written', user.id)).prompt
          : await tx.prompt.findFirst({ where: { id: promptId, projectId } });
        if (!prompt) throw notFound('prompt', 'promptId');
        return submitDemonstration(tx, projectId, prompt.id, user.id, answer);
      });
      return reply.code(201).send({ demonstration: toDemonstration(demonstration) });
    },
  );

  app.get(
    '/demonstrations/:id',
    { config: { access: access.projectOrAuthor('researcher') }, schema: { tags: ['demonstrations'], params: IdParamsSchema, response: { 200: DemonstrationResponseSchema } } },
    async (req) => {
      const demonstration = await load(req.params.id);
      const { user, roles } = await requireProject(req, demonstration.projectId);
      if (demonstration.authorId !== user.id && !roles.includes('researcher')) throw forbidden('only its author and reviewers see a demonstration');
      return { demonstration: toDemonstration(demonstration) };
    },
  );

  app.patch(
    '/demonstrations/:id',
    { config: { access: access.author }, schema: { tags: ['demonstrations'], params: IdParamsSchema, body: UpdateDemonstrationRequestSchema, response: { 200: DemonstrationResponseSchema } } },
    async (req) => {
      const existing = await load(req.params.id);
      const { user } = await requireProject(req, existing.projectId);
      if (existing.authorId !== user.id) throw forbidden('only its author edits a demonstration (reviewers edit through review)');
      await editOwnDemonstration(app.prisma, existing, req.body.answer);
      return { demonstration: toDemonstration(await load(existing.id)) };
    },
  );

  app.post(
    '/demonstrations/:id/review',
    { config: { access: access.project('researcher') }, schema: { tags: ['demonstrations'], params: IdParamsSchema, body: ReviewDemonstrationRequestSchema, response: { 200: DemonstrationResponseSchema } } },
    async (req) => {
      const existing = await load(req.params.id);
      const { user } = await requireProject(req, existing.projectId, ['researcher']);
      const { decision, note, answer } = req.body;
      const demonstration = await app.prisma.demonstration.update({
        where: { id: existing.id },
        data: {
          status: decision === 'accept' ? 'accepted' : 'rejected',
          reviewNote: note ?? null,
          answer,
          reviewerId: user.id,
          reviewedAt: new Date(),
        },
        include: demonstrationInclude,
      });
      return { demonstration: toDemonstration(demonstration) };
    },
  );

  app.get(
    '/projects/:projectId/writing-task',
    { config: { access: access.project('annotator') }, schema: { tags: ['demonstrations'], params: ProjectParamsSchema, response: { 200: WritingTaskResponseSchema } } },
    async (req) => {
      const { user } = await requireProject(req, req.params.projectId, ['annotator']);
      const where: Prisma.PromptWhereInput = {
        projectId: req.params.projectId,
        demonstrations: { none: { authorId: user.id, status: { in: ['submitted', 'accepted'] } } },
        writeSkips: { none: { userId: user.id } },
      };
      // prompts with the fewest demonstrations first, so the team spreads over the queue
      const [prompt, remaining] = await Promise.all([
        app.prisma.prompt.findFirst({ where, orderBy: [{ demonstrations: { _count: 'asc' } }, { createdAt: 'asc' }, { id: 'asc' }] }),
        app.prisma.prompt.count({ where }),
      ]);
      return { prompt: prompt ? toPrompt(prompt) : null, remaining };
    },
  );
};

export default demonstrationRoutes;
