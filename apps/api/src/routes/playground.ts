import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreatePlaygroundReplyRequestSchema,
  DemonstrationResponseSchema,
  IdParamsSchema,
  KeepPlaygroundReplyRequestSchema,
  PlaygroundModelListResponseSchema,
  PlaygroundReplyResponseSchema,
  ProjectParamsSchema,
  storedPrompt,
  type ChatMessage,
} from '@jielong/shared';
import { enqueuePlaygroundReply, PLAYGROUND_QUEUE } from '@jielong/db';
import type { Prisma } from '../db.ts';
import { access } from '../access.ts';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../errors.ts';
import { toDemonstration } from '../dto.ts';
import { submitDemonstration } from '../services/demonstrations.ts';
import { replyInclude, requirePlayground, streamPlaygroundReply, toPlaygroundReply } from '../services/playground.ts';
import { upsertPrompt } from '../services/prompts.ts';

// The playground: chat with a project's model before generating comparisons from it. A reply is a
// row plus a job on its own pg-boss queue (apps/api never runs a model: the worker samples, see
// apps/worker/src/playground.ts); its answer streams back over SSE and may be kept as a demonstration.

/** Models that write answers (a reward model scores them instead). */
const CHAT_KINDS = ['base', 'sft', 'policy'] as const;

const playgroundRoutes: FastifyPluginAsyncZod = async (app) => {
  /** The reply, checking the caller asked for it (and may still use the playground). */
  async function loadReply(req: Parameters<typeof requirePlayground>[0], id: string) {
    const reply = await app.prisma.playgroundReply.findUnique({ where: { id }, include: replyInclude });
    if (!reply) throw notFound('reply');
    const granted = await requirePlayground(req, reply.projectId);
    if (reply.userId !== granted.user.id) throw forbidden('only the person who asked for a reply sees it');
    return { reply, ...granted };
  }

  app.get(
    '/projects/:projectId/playground/models',
    { config: { access: access.project('researcher') }, schema: { tags: ['playground'], params: ProjectParamsSchema, response: { 200: PlaygroundModelListResponseSchema } } },
    async (req) => {
      await requirePlayground(req, req.params.projectId);
      const models = await app.prisma.model.findMany({
        where: { OR: [{ projectId: req.params.projectId }, { projectId: null }], kind: { in: [...CHAT_KINDS] } },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        select: { id: true, name: true, kind: true, createdAt: true },
      });
      return { items: models.map((m) => ({ ...m, kind: m.kind as (typeof CHAT_KINDS)[number], createdAt: m.createdAt.toISOString() })) };
    },
  );

  app.post(
    '/projects/:projectId/playground/replies',
    {
      config: { idempotent: true, access: access.project('researcher') },
      schema: {
        tags: ['playground'],
        params: ProjectParamsSchema,
        body: CreatePlaygroundReplyRequestSchema,
        response: { 201: PlaygroundReplyResponseSchema },
        description: 'Asks a model for the next assistant turn of the dialogue; follow it at GET /v1/playground/replies/:id/events. Replies of the caller still running are stopped.',
      },
    },
    async (req, reply) => {
      const { projectId } = req.params;
      const { user } = await requirePlayground(req, projectId);
      const queue = app.jobQueue;
      if (!queue) throw new ApiError(503, 'queue_unavailable', 'this API was started without a job queue');
      const { modelId, turns, sampling } = req.body;
      const model = await app.prisma.model.findFirst({ where: { id: modelId, OR: [{ projectId }, { projectId: null }] }, select: { kind: true } });
      if (!model) throw notFound('model', 'modelId');
      if (!(CHAT_KINDS as readonly string[]).includes(model.kind)) throw badRequest('modelId', `modelId must be a ${CHAT_KINDS.join(', ')} model, not a ${model.kind} model`);
      const created = await app.prisma.$transaction(async (tx) => {
        // one reply at a time per person: a new turn supersedes one still being written
        await tx.playgroundReply.updateMany({ where: { projectId, userId: user.id, status: 'queued' }, data: { status: 'stopped', stopRequested: true, finishedAt: new Date() } });
        await tx.playgroundReply.updateMany({ where: { projectId, userId: user.id, status: 'running' }, data: { stopRequested: true } });
        const row = await tx.playgroundReply.create({
          data: { projectId, userId: user.id, modelId, turns: storedTurns(turns), sampling: sampling as Prisma.InputJsonValue },
          include: replyInclude,
        });
        await enqueuePlaygroundReply(queue, tx, row.id);
        return row;
      });
      return reply.code(201).send({ reply: toPlaygroundReply(created) });
    },
  );

  app.get(
    '/playground/replies/:id',
    { config: { access: access.author }, schema: { tags: ['playground'], params: IdParamsSchema, response: { 200: PlaygroundReplyResponseSchema } } },
    async (req) => ({ reply: toPlaygroundReply((await loadReply(req, req.params.id)).reply) }),
  );

  app.get(
    '/playground/replies/:id/events',
    {
      config: { access: access.author },
      schema: {
        tags: ['playground'],
        params: IdParamsSchema,
        description:
          'Server-Sent Events: `reply` ({ reply }) first and on every status change, `delta` ({ text }) as the answer grows (id: its length so far); the last `reply` is final and carries the whole answer. Resumes after Last-Event-ID.',
      },
    },
    async (req, reply) => {
      const { reply: row } = await loadReply(req, req.params.id);
      const lastEventId = req.headers['last-event-id'];
      streamPlaygroundReply(app.prisma, req, reply, row.id, Array.isArray(lastEventId) ? lastEventId[0] : lastEventId);
      return reply;
    },
  );

  app.post(
    '/playground/replies/:id/stop',
    { config: { access: access.author }, schema: { tags: ['playground'], params: IdParamsSchema, response: { 200: PlaygroundReplyResponseSchema } } },
    async (req) => {
      const { reply: row } = await loadReply(req, req.params.id);
      // a queued reply stops here (the worker skips it); a running one when the worker sees the flag (it looks every 0.1 s)
      await app.prisma.playgroundReply.updateMany({ where: { id: row.id, status: 'queued' }, data: { status: 'stopped', stopRequested: true, finishedAt: new Date() } });
      await app.prisma.playgroundReply.updateMany({ where: { id: row.id, status: 'running' }, data: { stopRequested: true } });
      if (app.jobQueue) await app.jobQueue.cancel(PLAYGROUND_QUEUE, row.id).catch(() => {});
      return { reply: toPlaygroundReply(await app.prisma.playgroundReply.findUniqueOrThrow({ where: { id: row.id }, include: replyInclude })) };
    },
  );

  app.post(
    '/playground/replies/:id/demonstration',
    {
      config: { idempotent: true, access: access.author },
      schema: { tags: ['playground'], params: IdParamsSchema, body: KeepPlaygroundReplyRequestSchema, response: { 201: DemonstrationResponseSchema } },
    },
    async (req, reply) => {
      const { reply: row, user } = await loadReply(req, req.params.id);
      const demonstration = await app.prisma.$transaction(async (tx) => {
        // the reply's row lock: two keeps of one reply cannot both land
        await tx.$queryRaw`SELECT id FROM "PlaygroundReply" WHERE id = ${row.id} FOR UPDATE`;
        const current = await tx.playgroundReply.findUniqueOrThrow({ where: { id: row.id } });
        if (current.demonstrationId) throw conflict('already_kept', 'this answer is already kept as a demonstration');
        if (current.status !== 'succeeded' && current.status !== 'stopped') throw conflict('reply_unfinished', 'the answer is not finished yet');
        const answer = req.body.answer ?? current.text.trim();
        if (!answer) throw badRequest('answer', 'the answer is empty: there is nothing to keep');
        const { prompt } = await upsertPrompt(tx, row.projectId, { turns: current.turns as ChatMessage[] }, 'written', user.id);
        const created = await submitDemonstration(tx, row.projectId, prompt.id, user.id, answer);
        await tx.playgroundReply.update({ where: { id: row.id }, data: { demonstrationId: created.id } });
        return created;
      });
      return reply.code(201).send({ demonstration: toDemonstration(demonstration) });
    },
  );
};

/** The turns as stored for the worker: the dialogue's own cleaned form (storedPrompt's), one user turn included. */
function storedTurns(turns: ChatMessage[]): ChatMessage[] {
  const stored = storedPrompt(turns);
  return stored.turns ?? [{ role: 'user', content: stored.text }];
}

export default playgroundRoutes;
