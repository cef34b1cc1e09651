// @jielong/worker: consumes the training-job queue and the playground's (playground/). startWorker
// is what main.ts runs, and what tests start in-process; several workers (processes or machines) may share one database.
import { FolderStore, startJobQueue, TRAINING_DEAD_LETTER_QUEUE, TRAINING_QUEUE, WORKER_QUEUE_POOL, type ArtifactStore, type JobQueue, type PrismaClient, type TrainingQueueData } from '@jielong/db';
import { backendInfo, initBackend } from '@jielong/ml';
import type { Job, JobWithMetadata } from 'pg-boss';
import { servePlayground } from './playground/index.ts';
import { failLostJob, runTrainingJob } from './run-job.ts';

export interface WorkerOptions {
  prisma: PrismaClient;
  databaseUrl: string;
  /** where datasets, checkpoints and models live ($JIELONG_DATA_DIR), unless `artifacts` is given */
  dataDir?: string;
  artifacts?: ArtifactStore;
  /** seconds without a heartbeat after which a job counts as lost (when this worker creates the queue) */
  heartbeatSeconds?: number;
  /** how often this worker looks for jobs whose worker died (pg-boss supervision) */
  superviseIntervalSeconds?: number;
  /** how often an idle worker polls for new jobs */
  pollingIntervalSeconds?: number;
  /** how long the playground keeps an unused model loaded (default 600) */
  playgroundWarmSeconds?: number;
  log?: (line: string) => void;
}

export interface Worker {
  queue: JobQueue;
  /** Stops taking jobs; a running job is handed back to the queue after `timeoutMs` (resumed elsewhere). */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const log = opts.log ?? ((line: string) => console.log(`[worker] ${line}`));
  const store = opts.artifacts ?? new FolderStore(opts.dataDir ?? './.jielong');
  const backend = await initBackend();
  const queue = await startJobQueue(opts.databaseUrl, {
    ...WORKER_QUEUE_POOL, // training steps hold the event loop
    supervise: true,
    superviseIntervalSeconds: opts.superviseIntervalSeconds,
    heartbeatSeconds: opts.heartbeatSeconds,
  });
  const deps = { prisma: opts.prisma, store, log };
  const pollingIntervalSeconds = opts.pollingIntervalSeconds ?? 1;
  // One job at a time: training takes all the CPU there is.
  await queue.work(TRAINING_QUEUE, { pollingIntervalSeconds, includeMetadata: true }, async ([job]: JobWithMetadata<TrainingQueueData>[]) => {
    await runTrainingJob(deps, job.data.jobId, { signal: job.signal, retryCount: job.retryCount, retryLimit: job.retryLimit });
  });
  await queue.work(TRAINING_DEAD_LETTER_QUEUE, { pollingIntervalSeconds }, async (jobs: Job<TrainingQueueData>[]) => {
    for (const job of jobs) await failLostJob(deps, job.data.jobId);
  });
  const playground = await servePlayground(queue, deps, { backend, pollingIntervalSeconds, warmSeconds: opts.playgroundWarmSeconds });
  log(`ready (TensorFlow.js backend: ${backend === 'wasm' ? backendInfo() : backend})`);
  return {
    queue,
    stop: async (timeoutMs = 10_000) => {
      await queue.stop({ graceful: true, timeout: timeoutMs });
      await playground.close();
    },
  };
}
