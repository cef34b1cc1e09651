// The embedded database keeps what was committed across clean restarts and hard kills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations, createPrismaClient, startEmbeddedPostgres } from '@jielong/db';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function emails(url: string): Promise<string[]> {
  const prisma = createPrismaClient(url, { max: 1 });
  try {
    return (await prisma.user.findMany({ orderBy: { email: 'asc' } })).map((u) => u.email);
  } finally {
    await prisma.$disconnect();
  }
}

async function addUser(url: string, email: string) {
  const prisma = createPrismaClient(url, { max: 1 });
  try {
    await prisma.user.create({ data: { email, displayName: email, passwordHash: 'x', roles: ['annotator'] } });
  } finally {
    await prisma.$disconnect();
  }
}

test('embedded Postgres keeps committed data across restarts, hard kills and leftover servers', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'jielong-embedded-'));
  chmodSync(root, 0o755); // as root, the server runs as the postgres user, who must reach the folder
  const dataDir = join(root, 'postgres');
  const port = await freePort();
  const quiet = () => {};
  let db = await startEmbeddedPostgres({ dataDir, port, log: quiet });
  t.after(async () => {
    await db.stop();
    rmSync(root, { recursive: true, force: true });
  });

  await applyMigrations(db.url);
  await addUser(db.url, 'a@example.com');
  await db.stop();

  db = await startEmbeddedPostgres({ dataDir, port, log: quiet });
  assert.deepEqual(await emails(db.url), ['a@example.com'], 'data survives a clean stop and start');
  assert.deepEqual((await applyMigrations(db.url)).applied, [], 'the schema is still there');

  // Node dies without stopping the server: the next start reuses the running server.
  const logs: string[] = [];
  const again = await startEmbeddedPostgres({ dataDir, port, log: (m) => logs.push(m) });
  assert.match(logs.join('\n'), /reusing the server/);
  assert.equal(again.startedHere, false);
  assert.equal(again.url, db.url);

  await addUser(db.url, 'b@example.com');
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL'); // the server itself dies uncleanly, leaving postmaster.pid behind

  db = await startEmbeddedPostgres({ dataDir, port, log: quiet });
  assert.deepEqual(await emails(db.url), ['a@example.com', 'b@example.com'], 'committed data survives SIGKILL');
});
