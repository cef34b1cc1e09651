// A fresh, migrated database per test file on the Postgres server at TEST_DATABASE_URL.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations, createPrismaClient, withDatabase, type PrismaClient } from '@jielong/db';

export const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** Connection string of the new database. */
  url: string;
  prisma: PrismaClient;
  /** Disconnects the client and drops the database. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createEmptyDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    url: withDatabase(serverUrl, name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createEmptyDatabase(prefix);
  await applyMigrations(db.url, { createDatabase: false });
  const prisma = createPrismaClient(db.url, { max: 4 });
  return {
    url: db.url,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

/** A migrated database for one test and a plain pg client on it, both gone when the test ends. */
export async function migratedClient(t: { after(fn: () => Promise<void>): void }, prefix: string): Promise<pg.Client> {
  const db = await createEmptyDatabase(prefix);
  await applyMigrations(db.url, { createDatabase: false });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  t.after(async () => {
    await client.end();
    await db.drop();
  });
  return client;
}
