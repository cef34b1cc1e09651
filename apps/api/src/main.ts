// The API process: read env, apply migrations, ensure the first admin, listen.
import { join } from 'node:path';
import { applyMigrations, createPrismaClient, redactUrl, startEmbeddedPostgres, startJobQueue, startProcessLease, type EmbeddedPostgres } from '@jielong/db';
import { buildApp } from './index.ts';
import { ensureAdmin } from './services/admin.ts';

const dataDir = process.env.JIELONG_DATA_DIR ?? './.jielong';
const port = Number(process.env.API_PORT ?? 3001);
const host = process.env.API_HOST ?? '127.0.0.1';
const adminEmail = process.env.JIELONG_ADMIN_EMAIL ?? 'admin@jielong.local';
const importMaxBytes = process.env.JIELONG_IMPORT_MAX_BYTES ? Number(process.env.JIELONG_IMPORT_MAX_BYTES) : undefined;
if (importMaxBytes !== undefined && !(Number.isSafeInteger(importMaxBytes) && importMaxBytes > 0)) throw new Error('JIELONG_IMPORT_MAX_BYTES must be a positive whole number of bytes');
const dashboardFoldIntervalMs = process.env.JIELONG_DASHBOARD_FOLD_MS ? Number(process.env.JIELONG_DASHBOARD_FOLD_MS) : undefined;
if (dashboardFoldIntervalMs !== undefined && !(Number.isSafeInteger(dashboardFoldIntervalMs) && dashboardFoldIntervalMs >= 0)) throw new Error('JIELONG_DASHBOARD_FOLD_MS must be a whole number of milliseconds (0: no background fold)');

let embedded: EmbeddedPostgres | undefined;
let url = process.env.DATABASE_URL;
if (!url) {
  embedded = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
  url = embedded.url;
}
const { applied } = await applyMigrations(url);
console.log(`[api] database ${redactUrl(url)}${applied.length ? `, applied ${applied.join(', ')}` : ''}`);

// connections to Postgres (JIELONG_DB_POOL, default 10: a few per core of the database server serve best)
const prisma = createPrismaClient(url, { max: Number(process.env.JIELONG_DB_POOL) || undefined });
const admin = await ensureAdmin(prisma, adminEmail, process.env.JIELONG_ADMIN_PASSWORD || undefined);
if (admin.generatedPassword) {
  const line = '='.repeat(72);
  console.log(`\n${line}\n  First admin created. This password is shown ONCE — write it down:\n\n    email:    ${adminEmail}\n    password: ${admin.generatedPassword}\n\n  (set JIELONG_ADMIN_PASSWORD to choose it yourself)\n${line}\n`);
} else if (admin.created) {
  console.log(`[api] first admin ${adminEmail} created with JIELONG_ADMIN_PASSWORD`);
}

// The API only sends jobs; workers supervise the queue.
const jobQueue = await startJobQueue(url, { supervise: false });
// e.g. "loopback,uniquelocal" when the web app runs in another container; "true" trusts any proxy
const trustProxyEnv = process.env.JIELONG_TRUST_PROXY;
const trustProxy = trustProxyEnv === 'true' ? true : trustProxyEnv === 'false' ? false : trustProxyEnv || undefined;
const lease = await startProcessLease(url);
const app = await buildApp({ prisma, dataDir, jobQueue, lease, trustProxy, importMaxBytes, dashboardFoldIntervalMs, secureCookies: process.env.JIELONG_SECURE_COOKIES === 'true', logger: { level: process.env.LOG_LEVEL ?? 'info' } });
await app.listen({ port, host });
console.log(`[api] listening on http://${host}:${port} (docs at /docs)`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await app.close();
  await jobQueue.stop({ graceful: false });
  await lease.stop();
  await prisma.$disconnect();
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
