// @jielong/db: the Prisma client (generated from prisma/schema.prisma), the start-up
// migration runner and the embedded Postgres used when no DATABASE_URL is given; plus the storage
// both the API and the worker use: the artifact store, the training-job queue and comparison creation.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';

export * from './generated/prisma/client.ts';
export { applyMigrations, readMigrations, createDatabaseIfMissing, defaultMigrationsDir } from './migrate.ts';
export type { ApplyMigrationsOptions, ApplyMigrationsResult, MigrationFile } from './migrate.ts';
export { withDatabase, databaseName, redactUrl } from './url.ts';
export { startEmbeddedPostgres, DEFAULT_EMBEDDED_PORT } from './embedded.ts';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded.ts';
export * from './artifacts.ts';
export * from './comparisons.ts';
export * from './job-queue.ts';

export interface CreatePrismaClientOptions {
  /** Pool size (pg default 10). */
  max?: number;
}

export function createPrismaClient(url: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  const pool = new pg.Pool({ connectionString: url, max: options.max });
  // A connection the server ends (a failover, pg_terminate_backend) can emit 'error' while checked
  // out between queries, where nothing listens: Node would crash the process. The failure still
  // reaches the query that meets it, and the pool drops the connection.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}
export { startProcessLease, LEASE_HELD_SQL, LEASE_LOCK_CLASS, type ProcessLease } from './lease.ts';
