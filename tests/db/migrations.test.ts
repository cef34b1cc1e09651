// The start-up migration runner, and the migrations themselves against the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { applyMigrations, readMigrations } from '@jielong/db';
import { createEmptyDatabase, serverUrl } from '../helpers/db.ts';

function prismaCli(args: string[], databaseUrl: string) {
  const r = spawnSync(process.execPath, ['scripts/prisma.mjs', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

async function recorded(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name');
    return rows as { migration_name: string; checksum: string; finished_at: Date | null }[];
  } finally {
    await client.end();
  }
}

test('applying migrations twice applies them once, and the Prisma CLI agrees', async (t) => {
  const db = await createEmptyDatabase('dbtest_migrate');
  t.after(() => db.drop());
  const names = readMigrations().map((m) => m.name);
  assert.ok(names.length > 0);

  assert.deepEqual((await applyMigrations(db.url)).applied, names);
  assert.deepEqual((await applyMigrations(db.url)).applied, []);
  const rows = await recorded(db.url);
  assert.deepEqual(rows.map((r) => r.migration_name), names);
  assert.deepEqual(rows.map((r) => r.checksum), readMigrations().map((m) => m.checksum));
  assert.ok(rows.every((r) => r.finished_at !== null));

  const status = prismaCli(['migrate', 'status'], db.url);
  assert.equal(status.status, 0, status.output);
  assert.match(status.output, /Database schema is up to date/);
});

test('concurrent appliers apply each migration exactly once', async (t) => {
  const db = await createEmptyDatabase('dbtest_migrate');
  t.after(() => db.drop());
  const results = await Promise.all([1, 2, 3, 4].map(() => applyMigrations(db.url)));
  const names = readMigrations().map((m) => m.name);
  assert.deepEqual(results.flatMap((r) => r.applied).sort(), names);
  assert.deepEqual((await recorded(db.url)).map((r) => r.migration_name), names);
});

test('a failing migration leaves nothing behind and stops the later ones', async (t) => {
  const db = await createEmptyDatabase('dbtest_migrate');
  const dir = mkdtempSync(join(tmpdir(), 'jielong-migrations-'));
  t.after(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, sql: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  };
  write('001_ok', 'CREATE TABLE a (id int);');
  write('002_broken', "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT 'semi;colon';\nCREATE TABLE a (id int);");
  write('003_later', 'CREATE TABLE c (id int);');

  await assert.rejects(applyMigrations(db.url, { migrationsDir: dir }), /Migration 002_broken failed: relation "a" already exists/);
  assert.deepEqual((await recorded(db.url)).map((r) => r.migration_name), ['001_ok']);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  await client.end();
  assert.deepEqual(rows.map((r) => r.table_name), ['_prisma_migrations', 'a']);
});

test('the migrations produce exactly prisma/schema.prisma (edit the schema only with a migration)', () => {
  // Replays the migrations in a temporary shadow database and diffs the result with the schema.
  const r = prismaCli(
    ['migrate', 'diff', '--from-migrations', 'prisma/migrations', '--to-schema', 'prisma/schema.prisma', '--exit-code'],
    serverUrl,
  );
  assert.equal(
    r.status,
    0,
    `prisma/schema.prisma differs from the migrations; create one with \`npm run prisma -- migrate dev --name <change>\`:\n${r.output}`,
  );
});
