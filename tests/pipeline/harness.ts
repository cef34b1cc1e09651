// Set-up for the training-pipeline tests: a fresh migrated database, a temp data folder, the real
// API (app.inject, or listening for SSE) with a real pg-boss queue, and real workers: in this
// process (startWorker) or as child processes (apps/worker/src/main.ts) that a test may kill.
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '@jielong/shared';
import { buildApp, type App } from '@jielong/api';
import { createPrismaClient, startJobQueue, type JobQueue, type PrismaClient } from '@jielong/db';
import { startWorker, type Worker } from '@jielong/worker';
import { createTestDatabase } from '../helpers/db.ts';
import { hashPassword, newSecret, sha256 } from '../../apps/api/src/secrets.ts';

/** pg-boss's shortest heartbeat: a killed worker's job is retried after about this long. */
export const HEARTBEAT_SECONDS = 10;

export interface Person {
  id: string;
  auth: { authorization: string };
}

export type Response = Awaited<ReturnType<App['inject']>>;

export interface Pipeline {
  app: App;
  prisma: PrismaClient;
  url: string;
  dataDir: string;
  queue: JobQueue;
  person(name: string, roles?: Role[]): Promise<Person>;
  call(who: Person | null, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** a project owned by `owner`, with members */
  project(owner: Person, members?: [Person, Role[]][], settings?: Record<string, unknown>): Promise<string>;
  /** a worker in this process (stopped after the file's tests) */
  startWorker(): Promise<Worker>;
  /** a worker as a child process, for tests that kill it */
  spawnWorker(): ChildProcess;
  /** polls the job until `done(job)` holds (default: finished), failing after `timeoutMs` */
  waitForJob(jobId: string, done?: (job: JobRow) => boolean, timeoutMs?: number): Promise<JobRow>;
}

export type JobRow = Awaited<ReturnType<PrismaClient['trainingJob']['findUniqueOrThrow']>>;

export const FINISHED = ['succeeded', 'failed', 'canceled'];

const root = join(import.meta.dirname, '..', '..');

export function usePipeline(prefix: string): Pipeline {
  const p = {} as Pipeline;
  let drop: () => Promise<void>;
  const workers: Worker[] = [];
  const children: ChildProcess[] = [];
  let workerPrisma: PrismaClient | undefined;

  before(async () => {
    const db = await createTestDatabase(`pipeline_${prefix}`);
    drop = db.drop;
    p.prisma = db.prisma;
    p.url = db.url;
    p.dataDir = mkdtempSync(join(tmpdir(), `jielong-${prefix}-`));
    p.queue = await startJobQueue(db.url, { heartbeatSeconds: HEARTBEAT_SECONDS });
    p.app = await buildApp({ prisma: db.prisma, dataDir: p.dataDir, jobQueue: p.queue });
    await p.app.ready();
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const w of workers) await w.stop(1000);
    await workerPrisma?.$disconnect();
    await p.app?.close();
    await p.queue?.stop({ graceful: false });
    await drop?.();
    rmSync(p.dataDir, { recursive: true, force: true });
  });

  let passwordHash: Promise<string> | undefined;
  p.person = async (name, roles = []) => {
    passwordHash ??= hashPassword('correct horse battery');
    const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@test.local`;
    const user = await p.prisma.user.create({ data: { email, displayName: name, roles, passwordHash: await passwordHash } });
    const token = newSecret('jl_');
    await p.prisma.apiToken.create({ data: { userId: user.id, name: 'test', prefix: token.slice(0, 9), tokenHash: sha256(token) } });
    return { id: user.id, auth: { authorization: `Bearer ${token}` } };
  };
  p.call = (who, method, url, payload, headers = {}) =>
    p.app.inject({ method, url, headers: { ...(who ? who.auth : {}), ...headers }, ...(payload === undefined ? {} : { payload: payload as string | object }) });
  p.project = async (owner, members = [], settings = {}) => {
    const res = await p.call(owner, 'POST', '/v1/projects', { name: 'P', ...settings });
    if (res.statusCode !== 201) throw new Error(`project: ${res.statusCode} ${res.body}`);
    const projectId = res.json().project.id as string;
    for (const [person, roles] of members) await p.prisma.projectMember.create({ data: { projectId, userId: person.id, roles } });
    return projectId;
  };
  p.startWorker = async () => {
    workerPrisma ??= createPrismaClient(p.url, { max: 4 });
    const worker = await startWorker({
      prisma: workerPrisma,
      databaseUrl: p.url,
      dataDir: p.dataDir,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      superviseIntervalSeconds: 1,
      pollingIntervalSeconds: 0.5,
      log: () => {},
    });
    workers.push(worker);
    return worker;
  };
  p.spawnWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'apps/worker/src/main.ts')], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: p.url,
        JIELONG_DATA_DIR: p.dataDir,
        JIELONG_WORKER_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        JIELONG_WORKER_SUPERVISE_SECONDS: '1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  };
  p.waitForJob = async (jobId, done = (j) => FINISHED.includes(j.status), timeoutMs = 120_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const job = await p.prisma.trainingJob.findUniqueOrThrow({ where: { id: jobId } });
      if (done(job)) return job;
      if (Date.now() > until) throw new Error(`job ${jobId} still ${job.status} (progress ${job.progress}) after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  return p;
}

/** A slice of tinyshakespeare: enough text for a tiny model and a 300-token vocabulary. */
export async function shakespeare(chars = 20_000): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(join(root, '..', 'shared', 'data', 'corpus', 'tinyshakespeare.txt'), 'utf8')).slice(0, chars);
}

/** Hyper-parameters of a pre-training run that takes seconds. */
export const TINY_PRETRAIN = {
  preset: 'tiny',
  vocabSize: 300,
  steps: 60,
  batchSize: 8,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 5,
  evalEvery: 20,
  evalBatches: 2,
  checkpointEvery: 20,
  seed: 7,
} as const;
