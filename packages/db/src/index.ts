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
export type { Pool as SqlPool, QueryResultRow } from 'pg';

export interface CreatePrismaClientOptions {
  /** Pool size (pg default 10). */
  max?: number;
}

/** Distinct statements kept prepared on each connection; past this a statement is planned anew each time. */
const PREPARED_STATEMENTS = 500;

/**
 * Names for prepared statements, so each connection parses and plans a query once instead of on
 * every execution (planning took longer than running the rating queries). The names are capped:
 * node-postgres never forgets a prepared statement, and SQL text with a variable-length IN list
 * would otherwise prepare without end.
 */
function statementNames(): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < PREPARED_STATEMENTS) names.set(sql, (name = `jl${names.size}`));
    // undefined: node-postgres runs it unnamed (the type says string, the driver accepts none)
    return name as string;
  };
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

/**
 * The pg pool under a client made by createPrismaClient, for the few hot statements that are worth
 * a round trip without the ORM (the rating hand-out and submission: one function call each).
 */
export function sqlPoolOf(prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma);
  if (!pool) throw new Error('sqlPoolOf: a client not made by createPrismaClient');
  return pool;
}

export function createPrismaClient(url: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  // UTC, as Prisma writes timestamps: raw SQL comparing them with now() must not depend on the server's zone
  const pool = new pg.Pool({ connectionString: url, max: options.max, options: '-c TimeZone=UTC' });
  // A connection the server ends (a failover, pg_terminate_backend) can emit 'error' while checked
  // out between queries, where nothing listens: Node would crash the process. The failure still
  // reaches the query that meets it, and the pool drops the connection.
  pool.on('connect', (client) => client.on('error', () => {}));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true, statementNameGenerator: statementNames() }) });
  pools.set(prisma, pool);
  return prisma;
}
export { startProcessLease, LEASE_HELD_SQL, LEASE_LOCK_CLASS, type ProcessLease } from './lease.ts';
