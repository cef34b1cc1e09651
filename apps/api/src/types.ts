import type { Role } from '@jielong/shared';
import type { ArtifactStore, JobQueue, ProcessLease } from '@jielong/db';
import type { PrismaClient } from './db.ts';
import type { LoginLimit } from './services/login-limit.ts';
import type { AccessRule } from './access.ts';
import type { RouteAccess } from './plugins/access-rules.ts';
import type { KeptReads, KeptReadsOptions } from './kept-reads.ts';

export interface AuthUser {
  id: string;
  email: string;
  displayName: string;
  roles: Role[];
  locale: string;
  createdAt: Date;
}

export interface AppConfig {
  dataDir: string;
  /** how long a handed-out rating task holds its slot */
  assignmentTtlMs: number;
  /** how long after submitting a ranking its rater may take it back */
  undoWindowMs: number;
  sessionTtlMs: number;
  /** set the Secure flag on the session cookie (behind HTTPS) */
  secureCookies: boolean;
  /** largest JSON body on ordinary routes / on import routes (bytes) */
  bodyLimit: number;
  importBodyLimit: number;
  /** largest model upload, all its files together (bytes; JIELONG_IMPORT_MAX_BYTES) */
  importMaxBytes: number;
  /** failed logins allowed per account name and per client address */
  loginLimit: LoginLimit;
  /**
   * Whose X-Forwarded-For to believe for the client's address (Fastify's trustProxy): by default
   * the web app on the same machine, which proxies /v1 and names the browser's address.
   */
  trustProxy: boolean | string;
  /** how often stale sessions, Idempotency-Keys and login failures are deleted (also once at start) */
  cleanupIntervalMs: number;
  /** how often the dashboards' pending changes are folded in the background (0: only by requests) */
  dashboardFoldIntervalMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
    config: AppConfig;
    /** datasets and models (a folder under dataDir unless another store is given) */
    artifacts: ArtifactStore;
    /** where training jobs are sent; null when the API runs without one (job creation answers 503) */
    jobQueue: JobQueue | null;
    /** this process's lease (startProcessLease): lets other processes see that its Idempotency-Key claims are live, and listens for changes */
    lease: ProcessLease | null;
    /** reads kept in memory until a writer changes them (plugins/kept-reads.ts) */
    keptReads: <T>(options?: KeptReadsOptions) => Promise<KeptReads<T>>;
    /** every API route with its declared access rule */
    routeAccess: RouteAccess[];
    /** whether the request that claimed an Idempotency-Key may still answer it (plugins/idempotency.ts) */
    idempotencyClaimAlive: (owner: number | null, claim: string | null, createdAt: Date) => Promise<boolean>;
  }
  interface FastifyRequest {
    user: AuthUser | null;
    /** set when this request claimed an Idempotency-Key; `recorded` once recordResponse stored its response */
    idempotency: { userId: string; key: string; token: string; recorded: boolean } | null;
  }
  interface FastifyContextConfig {
    /** a creating POST: honours the Idempotency-Key header */
    idempotent?: boolean;
    /** the route claims and answers the Idempotency-Key in its own write transaction (idempotencyKeyOf) */
    keyInTransaction?: boolean;
    /** safe to run twice (GET and HEAD are): repeated once when the database connection breaks under it */
    repeatable?: boolean;
    /** who may call the route; required on every API route */
    access?: AccessRule;
    /** the route may change what the kept reads hold (a session, a token, a user, a membership, a project's scales): they are forgotten before it answers (plugins/kept-reads.ts) */
    changesKeptReads?: boolean;
  }
}
