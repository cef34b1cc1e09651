// A worker's event loop is busy for a whole training step at a time (seconds on the 'small'
// preset), and turns only between steps. pg-boss must ride that out: no connection timeouts
// reported while the job's heartbeat, polling and maintenance wait for the step to end.
// On the embedded server, as under `npm start`: its password handshake takes more turns of the loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, startJobQueue, TRAINING_DEAD_LETTER_QUEUE, TRAINING_QUEUE, WORKER_QUEUE_POOL } from '@jielong/db';

const STEP_MS = 8000;
const STEPS = 6;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Holds the event loop the way a synchronous training step does. */
function trainingStep(ms: number) {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

test('the worker queue reports no connection errors while steps hold the event loop', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jielong-queue-busy-'));
  chmodSync(dir, 0o755); // run as root, the postgres user must reach it
  const db = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port: await freePort(), log: () => {} });
  // as the worker does: the training queue and the dead-letter queue
  const queue = await startJobQueue(db.url, { ...WORKER_QUEUE_POOL, supervise: true, superviseIntervalSeconds: 5, heartbeatSeconds: 10 });
  const errors: unknown[] = [];
  queue.removeAllListeners('error');
  queue.on('error', (e) => errors.push(e));
  try {
    let steps = 0;
    await queue.work(TRAINING_DEAD_LETTER_QUEUE, { pollingIntervalSeconds: 1 }, async () => {});
    const finished = new Promise<void>((resolve) => {
      void queue.work(TRAINING_QUEUE, { pollingIntervalSeconds: 1 }, async () => {
        for (; steps < STEPS; steps++) {
          trainingStep(STEP_MS);
          await new Promise((r) => setImmediate(r)); // one turn of the loop between steps, as trainers do
        }
        resolve();
      });
    });
    await queue.send(TRAINING_QUEUE, { jobId: 'busy' });
    await finished;
    await new Promise((r) => setTimeout(r, 2000)); // let the last step's waiting queries settle
    assert.equal(steps, STEPS);
    assert.deepEqual(errors.map((e) => String((e as Error).message ?? e)), []);
  } finally {
    await queue.stop({ graceful: false });
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
