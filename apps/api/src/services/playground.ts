// The playground's side of the API: who may chat, the reply's wire shape, and its live stream.
// The worker appends the answer to the reply's row as it samples (apps/worker/src/playground.ts);
// the stream polls that row, as the job stream polls its rows (services/job-events.ts), so any API
// copy serves any reply and a reconnecting client resumes at its offset (Last-Event-ID).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SamplingSettingsSchema, type PlaygroundReply } from '@jielong/shared';
import type { Prisma, PrismaClient } from '../db.ts';
import { requireProject } from '../access.ts';
import { forbidden } from '../errors.ts';

const POLL_MS = 100;
const KEEPALIVE_MS = 15_000;
const FINISHED = new Set(['succeeded', 'stopped', 'failed']);

/** Researchers always; annotators when the project opens the playground to them. */
export async function requirePlayground(req: FastifyRequest, projectId: string) {
  const access = await requireProject(req, projectId);
  const allowed = access.roles.includes('researcher') || (access.roles.includes('annotator') && access.project.playgroundForAnnotators);
  if (!allowed) throw forbidden('the playground needs the researcher role in this project (or annotator, where the project allows annotators)');
  return access;
}

export const replyInclude = { model: { select: { name: true } } } as const;
type ReplyRow = Prisma.PlaygroundReplyModel & { model: { name: string } | null };

export function toPlaygroundReply(r: ReplyRow): PlaygroundReply {
  const error = r.error as { code: string; message: string } | null;
  return {
    id: r.id,
    projectId: r.projectId,
    modelId: r.modelId,
    modelName: r.model?.name ?? null,
    turns: r.turns as PlaygroundReply['turns'],
    sampling: SamplingSettingsSchema.parse(r.sampling),
    status: r.status,
    text: r.text,
    finish: r.finish === 'stop' || r.finish === 'length' ? r.finish : null,
    error: error ? { code: error.code, message: error.message } : null,
    stats: (r.stats ?? {}) as PlaygroundReply['stats'],
    demonstrationId: r.demonstrationId,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes over the reply: `reply` events on status changes, `delta` events as the answer grows, until it is finished. */
export function streamPlaygroundReply(prisma: PrismaClient, req: FastifyRequest, reply: FastifyReply, id: string, lastEventId?: string): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let offset = /^\d+$/.test(lastEventId ?? '') ? Number(lastEventId) : 0;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const send = (event: string, data: unknown) => res.write(`id: ${offset}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  const run = async () => {
    res.write('retry: 1000\n\n');
    let status = '';
    let lastWrite = Date.now();
    while (!closed) {
      const row = await prisma.playgroundReply.findUnique({ where: { id }, include: replyInclude });
      if (!row) break;
      // A finished reply's last event carries its final text (cleaned and trimmed), so no delta then.
      if (FINISHED.has(row.status)) {
        offset = row.text.length;
        send('reply', { reply: toPlaygroundReply(row) });
        break;
      }
      if (row.status !== status) {
        status = row.status;
        send('reply', { reply: toPlaygroundReply(row) });
        lastWrite = Date.now();
      }
      if (row.text.length > offset) {
        const text = row.text.slice(offset);
        offset = row.text.length;
        send('delta', { text });
        lastWrite = Date.now();
      }
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      await sleep(POLL_MS);
    }
  };
  run()
    .catch((err) => req.log.error({ err }, 'playground stream failed'))
    .finally(() => res.end());
}
