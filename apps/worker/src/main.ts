// The worker process (placeholder until the training consumer lands): connects pg-boss to
// the database and waits.
import { join } from 'node:path';
import { PgBoss } from 'pg-boss';
import { redactUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '@jielong/db';

let embedded: EmbeddedPostgres | undefined;
let url = process.env.DATABASE_URL;
if (!url) {
  embedded = await startEmbeddedPostgres({ dataDir: join(process.env.JIELONG_DATA_DIR ?? './.jielong', 'postgres') });
  url = embedded.url;
}

const boss = new PgBoss(url);
boss.on('error', (error) => console.error('[worker] pg-boss error:', error));
await boss.start();
console.log(`[worker] connected to ${redactUrl(url)}; idle, no job handlers yet`);

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  await boss.stop({ graceful: true, timeout: 10_000 });
  if (embedded?.startedHere) await embedded.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
