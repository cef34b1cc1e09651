// Live job progress as Server-Sent Events. The API polls the job's row and its new metric and log
// rows (the worker writes them from another process, maybe another machine), so any API copy can
// serve any stream. Each event's id is the pair of cursors "<metricId>.<logId>": a reconnecting
// EventSource sends it back as Last-Event-ID and the stream carries on where it broke.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PrismaClient } from '../db.ts';
import { toJob, toJobLog, toJobMetric } from '../dto.ts';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;
const PAGE = 500;
const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

function parseCursor(lastEventId: string | undefined): [bigint, bigint] {
  const m = /^(\d+)\.(\d+)$/.exec(lastEventId ?? '');
  return m ? [BigInt(m[1]), BigInt(m[2])] : [0n, 0n];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes over the reply and streams until the job finishes or the client goes away. */
export function streamJobEvents(prisma: PrismaClient, req: FastifyRequest, reply: FastifyReply, jobId: string, lastEventId?: string): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // proxies (nginx, Next rewrites) must not buffer the stream
    'x-accel-buffering': 'no',
  });
  let [metricCursor, logCursor] = parseCursor(lastEventId);
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const send = (event: string, data: unknown) => {
    res.write(`id: ${metricCursor}.${logCursor}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const run = async () => {
    res.write('retry: 2000\n\n');
    let statusKey = '';
    let lastWrite = Date.now();
    for (let first = true; !closed; first = false) {
      // The job is read before its rows: every row written before a status change is sent before it.
      const job = await prisma.trainingJob.findUnique({ where: { id: jobId }, include: { output: { select: { id: true, name: true } } } });
      if (!job) break;
      const key = `${job.status}|${job.progress}|${job.attempts}|${job.cancelRequested}|${job.output?.id ?? ''}`;
      if (first) {
        send('status', { job: toJob(job) });
        statusKey = key;
      }
      const [metrics, logs] = await Promise.all([
        prisma.jobMetric.findMany({ where: { jobId, id: { gt: metricCursor } }, orderBy: { id: 'asc' }, take: PAGE }),
        prisma.jobLog.findMany({ where: { jobId, id: { gt: logCursor } }, orderBy: { id: 'asc' }, take: PAGE }),
      ]);
      for (const m of metrics) {
        metricCursor = m.id;
        send('metric', toJobMetric(m));
      }
      for (const l of logs) {
        logCursor = l.id;
        send('log', toJobLog(l));
      }
      if (key !== statusKey) {
        send('status', { job: toJob(job) });
        statusKey = key;
      }
      if (metrics.length || logs.length || first) lastWrite = Date.now();
      const caughtUp = metrics.length < PAGE && logs.length < PAGE;
      if (FINISHED.has(job.status) && caughtUp) break;
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      if (caughtUp) await sleep(POLL_MS);
    }
  };
  run()
    .catch((err) => req.log.error({ err }, 'job event stream failed'))
    .finally(() => res.end());
}
