// The training-job queue on pg-boss: one queue the API sends to and workers consume, plus a
// dead-letter queue where a job lands when every attempt died (the worker then marks it failed).
// The TrainingJob row is the truth about a job; the pg-boss job only carries its id (and uses it as
// its own id), so sending it inside the transaction that creates the row makes both or neither.
import { PgBoss, fromPrisma } from 'pg-boss';
import type { Prisma } from './generated/prisma/client.ts';

export const TRAINING_QUEUE = 'training-jobs';
export const TRAINING_DEAD_LETTER_QUEUE = 'training-jobs-dead';

export interface TrainingQueueData {
  jobId: string;
}

/** Playground replies: seconds-long jobs on their own queue, so a chat never waits behind training. */
export const PLAYGROUND_QUEUE = 'playground-replies';

export interface PlaygroundQueueData {
  replyId: string;
}

export interface JobQueueOptions {
  /**
   * A worker that stops sending heartbeats this long is taken for dead and the job is retried
   * (pg-boss minimum 10). Applies when this call creates the queue.
   */
  heartbeatSeconds?: number;
  /** Retries after the first attempt, when a worker dies or a job throws unexpectedly. */
  retryLimit?: number;
  /** Run pg-boss maintenance (expiring jobs whose worker died). Workers do; the API does not. */
  supervise?: boolean;
  /** How often maintenance runs, in seconds (pg-boss default 60). */
  superviseIntervalSeconds?: number;
  /** Connection pool size. */
  max?: number;
  /** How long a query may wait for a pooled connection, in seconds (pg-boss default 10). */
  connectionTimeoutSeconds?: number;
  /** Keep idle connections open instead of closing them after 10 s (pg default). */
  keepIdleConnections?: boolean;
}

/**
 * The pool of a training worker. Its event loop turns only between training steps (seconds each on
 * the 'small' preset), and a connection timer keeps counting meanwhile: a new connection's handshake
 * needs several turns, and a query queued behind a step waits the step out. With pg's defaults a
 * worker reported connection timeouts (and could miss a job heartbeat) while it trained. So: no
 * reconnecting mid-training, and a wait bound of minutes that still names an unreachable database.
 */
export const WORKER_QUEUE_POOL = { connectionTimeoutSeconds: 300, keepIdleConnections: true } satisfies JobQueueOptions;

export type JobQueue = PgBoss;

/** Connects pg-boss (installing its schema on first use) and makes sure its queues exist. */
export async function startJobQueue(url: string, options: JobQueueOptions = {}): Promise<JobQueue> {
  const interval = options.superviseIntervalSeconds ?? 60;
  const boss = new PgBoss({
    connectionString: url,
    max: options.max ?? 4,
    connectionTimeoutMillis: (options.connectionTimeoutSeconds ?? 10) * 1000,
    // pg-boss hands its options to pg.Pool, which reads this one; 0 never closes an idle connection
    ...(options.keepIdleConnections ? { idleTimeoutMillis: 0 } : {}),
    supervise: options.supervise ?? false,
    superviseIntervalSeconds: interval,
    monitorIntervalSeconds: interval,
    schedule: false,
  });
  // pg-boss reports background errors as events; without a listener Node would crash on them.
  boss.on('error', (err) => console.error('[job-queue]', err));
  await boss.start();
  await boss.createQueue(TRAINING_DEAD_LETTER_QUEUE, { retryLimit: 5, retryDelay: 5 });
  await boss.createQueue(TRAINING_QUEUE, {
    heartbeatSeconds: options.heartbeatSeconds ?? 30,
    retryLimit: options.retryLimit ?? 2,
    retryDelay: 1,
    // The heartbeat catches dead workers; this only bounds a job that hangs while still beating.
    expireInSeconds: 24 * 3600,
    deadLetter: TRAINING_DEAD_LETTER_QUEUE,
  });
  // Not retried: a reply the worker lost is asked for again by its user, who is watching.
  await boss.createQueue(PLAYGROUND_QUEUE, { retryLimit: 0, expireInSeconds: 15 * 60 });
  return boss;
}

/** Queues a training job inside the caller's Prisma transaction (atomic with the job's row). */
export async function enqueueTrainingJob(queue: JobQueue, tx: Prisma.TransactionClient, jobId: string): Promise<void> {
  const data: TrainingQueueData = { jobId };
  await queue.send(TRAINING_QUEUE, data, { id: jobId, db: fromPrisma(tx) });
}

/** Queues a playground reply inside the caller's Prisma transaction (atomic with the reply's row). */
export async function enqueuePlaygroundReply(queue: JobQueue, tx: Prisma.TransactionClient, replyId: string): Promise<void> {
  const data: PlaygroundQueueData = { replyId };
  await queue.send(PLAYGROUND_QUEUE, data, { id: replyId, db: fromPrisma(tx) });
}

/** Drops a job that has not started yet from the queue (a running one is stopped by cancelRequested). */
export async function dequeueTrainingJob(queue: JobQueue, jobId: string): Promise<void> {
  await queue.cancel(TRAINING_QUEUE, jobId);
}
