// Playground replies: a short job on its own queue (PLAYGROUND_QUEUE), so a chat never waits behind
// training. The sampling thread (sampler.ts) posts the answer's text as it grows; this side appends
// it to the reply's row at most every FLUSH_MS (the API streams the row out over SSE) and watches for
// the user's stop. While this worker trains, its thread turns only between training steps, so the
// text arrives in step-sized bursts: run a second worker process for a responsive playground then.
import { modelPrefix, PLAYGROUND_QUEUE, type ArtifactStore, type JobQueue, type PlaygroundQueueData, type PrismaClient } from '@jielong/db';
import { type ChatTurn } from '@jielong/ml';
import { SamplingSettingsSchema } from '@jielong/shared';
import type { Job } from 'pg-boss';
import { Sampler, type SamplerDone } from './sampler.ts';

const FLUSH_MS = 50;
const STOP_POLL_MS = 100;

export interface PlaygroundOptions {
  backend: string;
  pollingIntervalSeconds: number;
  /** how long an unused model stays loaded (default 10 minutes) */
  warmSeconds?: number;
}

interface Deps {
  prisma: PrismaClient;
  store: ArtifactStore;
  log: (line: string) => void;
}

/** Control characters a small model may sample (Postgres text cannot hold NUL); nobody needs them. */
const cleanText = (text: string) => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');

export async function servePlayground(queue: JobQueue, deps: Deps, opts: PlaygroundOptions): Promise<{ close(): Promise<void> }> {
  const sampler = new Sampler({ backend: opts.backend, warmMs: (opts.warmSeconds ?? 600) * 1000, maxWarm: 2 });
  await queue.work(PLAYGROUND_QUEUE, { pollingIntervalSeconds: opts.pollingIntervalSeconds }, async ([job]: Job<PlaygroundQueueData>[]) => {
    await answerReply(deps, sampler, job.data.replyId);
  });
  return { close: () => sampler.close() };
}

async function answerReply({ prisma, store, log }: Deps, sampler: Sampler, id: string): Promise<void> {
  const claimed = await prisma.playgroundReply.updateMany({ where: { id, status: 'queued', stopRequested: false }, data: { status: 'running' } });
  if (!claimed.count) return; // stopped or superseded while queued
  const row = await prisma.playgroundReply.findUniqueOrThrow({ where: { id } });
  const fail = (code: string, message: string) =>
    prisma.playgroundReply.update({ where: { id }, data: { status: 'failed', error: { code, message }, finishedAt: new Date() } });
  if (!row.modelId) return void (await fail('model-gone', 'the model no longer exists'));

  let pending = '';
  let started = false;
  let writing: Promise<unknown> = Promise.resolve();
  const flush = () => {
    // the first text starts without the whitespace the final answer is trimmed of
    const text = started ? pending : pending.trimStart();
    pending = '';
    if (!text) return writing;
    started = true;
    writing = writing.then(() => prisma.$executeRaw`UPDATE "PlaygroundReply" SET text = text || ${text} WHERE id = ${id} AND status = 'running'`);
    return writing;
  };
  const timers: NodeJS.Timeout[] = [];
  try {
    const dir = await store.localDir(modelPrefix(row.modelId));
    const sampling = sampler.sample({ dir, turns: row.turns as unknown as ChatTurn[], sampling: SamplingSettingsSchema.parse(row.sampling) }, (text) => {
      pending += cleanText(text);
    });
    timers.push(setInterval(() => void flush().catch(() => {}), FLUSH_MS));
    timers.push(
      setInterval(() => {
        void prisma.playgroundReply.findUnique({ where: { id }, select: { stopRequested: true } }).then((r) => {
          if (!r || r.stopRequested) sampling.stop();
        }, () => {});
      }, STOP_POLL_MS),
    );
    const done: SamplerDone = await sampling.done;
    for (const t of timers) clearInterval(t);
    await flush();
    await prisma.playgroundReply.update({
      where: { id },
      data: {
        status: done.finish === 'stopped' ? 'stopped' : 'succeeded',
        finish: done.finish === 'stopped' ? null : done.finish,
        text: cleanText(done.text).trim(),
        stats: done.stats,
        finishedAt: new Date(),
      },
    });
    log(`playground reply ${id}: ${done.stats.tokens} tokens in ${done.stats.ms} ms (${done.finish}${done.stats.loadMs ? `, model loaded in ${done.stats.loadMs} ms` : ', model warm'})`);
  } catch (err) {
    for (const t of timers) clearInterval(t);
    await writing.catch(() => {});
    await fail('sampling-failed', (err as Error).message);
  }
}
