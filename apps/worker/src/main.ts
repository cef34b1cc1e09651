// The worker process: reads env (DATABASE_URL or the embedded Postgres, JIELONG_DATA_DIR,
// TF_BACKEND), applies migrations and consumes training jobs until SIGINT/SIGTERM.
import { join } from 'node:path';
import { applyMigrations, createPrismaClient, redactUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '@jielong/db';
import { startWorker } from './index.ts';

const dataDir = process.env.JIELONG_DATA_DIR ?? './.jielong';
const seconds = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

let embedded: EmbeddedPostgres | undefined;
let url = process.env.DATABASE_URL;
if (!url) {
  embedded = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
  url = embedded.url;
}
await applyMigrations(url);
const prisma = createPrismaClient(url, { max: 4 });
const worker = await startWorker({
  prisma,
  databaseUrl: url,
  dataDir,
  heartbeatSeconds: seconds('JIELONG_WORKER_HEARTBEAT_SECONDS'),
  superviseIntervalSeconds: seconds('JIELONG_WORKER_SUPERVISE_SECONDS'),
  playgroundWarmSeconds: seconds('JIELONG_PLAYGROUND_WARM_SECONDS'),
});
console.log(`[worker] connected to ${redactUrl(url)}; data in ${dataDir}`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await worker.stop();
  await prisma.$disconnect();
  if (embedded?.startedHere) await embedded.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
