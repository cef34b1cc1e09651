// @jielong/db: the Prisma client (generated from prisma/schema.prisma), the start-up
// migration runner and the embedded Postgres used when no DATABASE_URL is given; plus the storage
// both the API and the worker use: the artifact store, the training-job queue and comparison creation.
import { PrismaPg } from '@prisma/adapter-pg';
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
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: options.max }) });
}
export { startProcessLease, LEASE_HELD_SQL, LEASE_LOCK_CLASS, type ProcessLease } from './lease.ts';
