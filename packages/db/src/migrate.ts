// Start-up migration runner. Applies prisma/migrations/*/migration.sql in order, each in its
// own transaction, and records them in Prisma's own `_prisma_migrations` table the way the
// schema engine does (sha256 checksum of the file), so `prisma migrate status/deploy` agree.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { databaseName, withDatabase } from './url.ts';

export const defaultMigrationsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../prisma/migrations');

// The key Prisma's schema engine locks on, so this runner and `prisma migrate deploy`
// also exclude each other.
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface ApplyMigrationsOptions {
  migrationsDir?: string;
  /** Create the database when the server says it does not exist (default true). */
  createDatabase?: boolean;
  log?: (message: string) => void;
}

export interface ApplyMigrationsResult {
  /** Names of the migrations applied by this call, in order. */
  applied: string[];
}

export function readMigrations(migrationsDir = defaultMigrationsDir): MigrationFile[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(migrationsDir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b)) // the order the Prisma CLI uses
    .map((name) => {
      const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export async function createDatabaseIfMissing(url: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error;
  } finally {
    await probe.end().catch(() => {});
  }
  const admin = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${databaseName(url).replace(/"/g, '""')}"`);
  } catch (error) {
    // Another starter created it between our probe and now.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await admin.end();
  }
  return true;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function applyMigrations(url: string, options: ApplyMigrationsOptions = {}): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => {});
  const migrations = readMigrations(options.migrationsDir);
  if (options.createDatabase !== false && (await createDatabaseIfMissing(url))) log(`created database ${databaseName(url)}`);

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const applied: string[] = [];
  try {
    // Session-level lock: a second starter waits here, then finds everything applied.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const failed = rows.filter((r) => r.finished_at === null).map((r) => r.migration_name);
    if (failed.length) {
      throw new Error(
        `Migration(s) ${failed.join(', ')} failed earlier and are recorded as unfinished in _prisma_migrations; ` +
          'fix the database, then run `npm run prisma -- migrate resolve --rolled-back <name>` (or --applied).',
      );
    }
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));

    for (const migration of migrations) {
      const checksum = done.get(migration.name);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) log(`warning: migration ${migration.name} was edited after it was applied`);
        continue;
      }
      await client.query('BEGIN');
      try {
        const id = randomUUID();
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
          [id, migration.checksum, migration.name],
        );
        // No parameters: pg sends the whole file through the simple query protocol, which
        // runs every statement in it.
        await client.query(migration.sql);
        await client.query('UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1', [id]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`Migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.name);
      log(`applied migration ${migration.name}`);
    }
  } finally {
    await client.end(); // also releases the advisory lock
  }
  return { applied };
}
