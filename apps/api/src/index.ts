// buildApp: the whole HTTP API as a Fastify instance (not listening), for main.ts and tests.
import Fastify, { type FastifyRequest, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { FolderStore, type ArtifactStore, type JobQueue, type ProcessLease } from '@jielong/db';
import type { PrismaClient } from './db.ts';
import { ApiError, frameworkErrors, registerErrorHandling } from './errors.ts';
import type { AppConfig } from './types.ts';
import { DEFAULT_LOGIN_LIMIT } from './services/login-limit.ts';
import authPlugin from './plugins/auth.ts';
import keptReadsPlugin from './plugins/kept-reads.ts';
import helmet from '@fastify/helmet';
import storableTextPlugin from './plugins/storable-text.ts';
import idempotencyPlugin from './plugins/idempotency.ts';
import lostConnectionPlugin from './plugins/lost-connection.ts';
import accessRulesPlugin from './plugins/access-rules.ts';
import cleanupPlugin from './plugins/cleanup.ts';
import dashboardFoldPlugin from './plugins/dashboard-fold.ts';
import authRoutes from './routes/auth.ts';
import meRoutes from './routes/me.ts';
import userRoutes from './routes/users.ts';
import projectRoutes from './routes/projects.ts';
import memberRoutes from './routes/members.ts';
import promptRoutes from './routes/prompts.ts';
import demonstrationRoutes from './routes/demonstrations.ts';
import comparisonRoutes from './routes/comparisons.ts';
import ratingRoutes from './routes/rating.ts';
import rankingRoutes from './routes/rankings.ts';
import exportRoutes from './routes/exports.ts';
import preferenceImportRoutes from './routes/preference-imports.ts';
import dashboardRoutes from './routes/dashboard.ts';
import jobRoutes from './routes/jobs.ts';
import modelRoutes from './routes/models.ts';
import modelIoRoutes from './routes/model-io.ts';
import qualityRoutes from './routes/quality.ts';
import arenaRoutes from './routes/arena.ts';
import playgroundRoutes from './routes/playground.ts';

export type { AppConfig, AuthUser } from './types.ts';
export { createComparison } from './services/comparisons.ts';

export interface BuildAppOptions extends Partial<AppConfig> {
  prisma: PrismaClient;
  logger?: FastifyServerOptions['logger'];
  /** the training-job queue (startJobQueue from @jielong/db); without it job creation answers 503 */
  jobQueue?: JobQueue;
  /** defaults to the folder dataDir */
  artifacts?: ArtifactStore;
  /**
   * this process's lease (startProcessLease from @jielong/db): a retry after a crash then takes
   * over the dead process's Idempotency-Key claims at once instead of after five minutes
   */
  lease?: ProcessLease;
}

const MB = 1024 * 1024;

export async function buildApp(opts: BuildAppOptions) {
  const config: AppConfig = {
    dataDir: opts.dataDir ?? './.jielong',
    assignmentTtlMs: opts.assignmentTtlMs ?? 30 * 60_000,
    undoWindowMs: opts.undoWindowMs ?? 10_000,
    sessionTtlMs: opts.sessionTtlMs ?? 30 * 24 * 3600_000,
    secureCookies: opts.secureCookies ?? false,
    bodyLimit: opts.bodyLimit ?? 1 * MB,
    importBodyLimit: opts.importBodyLimit ?? 64 * MB,
    importMaxBytes: opts.importMaxBytes ?? 4 * 1024 * MB,
    loginLimit: opts.loginLimit ?? DEFAULT_LOGIN_LIMIT,
    trustProxy: opts.trustProxy ?? 'loopback',
    cleanupIntervalMs: opts.cleanupIntervalMs ?? 3600_000,
    dashboardFoldIntervalMs: opts.dashboardFoldIntervalMs ?? 2000,
  };
  // forceCloseConnections: a hijacked SSE stream would otherwise hold close() open until its job ends.
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: config.bodyLimit, forceCloseConnections: true, trustProxy: config.trustProxy, frameworkErrors }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('prisma', opts.prisma);
  app.decorate('config', config);
  app.decorate('artifacts', opts.artifacts ?? new FolderStore(config.dataDir));
  app.decorate('jobQueue', opts.jobQueue ?? null);
  app.decorate('lease', opts.lease ?? null);
  registerErrorHandling(app);

  // JSONL uploads (imports) arrive as text, optionally gzipped (the shared data files are .jsonl.gz).
  // Fastify caps the compressed bytes (the route's bodyLimit); zlib's asynchronous gunzip works on
  // libuv's thread pool and stops at maxOutputLength, so a decompression bomb neither stalls the
  // event loop for everyone else nor fills memory.
  const gunzipAsync = promisify(gunzip);
  app.addContentTypeParser(['application/x-ndjson', 'application/jsonl', 'text/plain'], { parseAs: 'buffer' }, async (req: FastifyRequest, body: Buffer) => {
    if (req.headers['content-encoding'] !== 'gzip') return body.toString('utf8');
    try {
      return (await gunzipAsync(body, { maxOutputLength: 4 * config.importBodyLimit })).toString('utf8');
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
        ? new ApiError(413, 'body_too_large', 'decompressed body is too large', 'body')
        : new ApiError(400, 'invalid', 'body is not valid gzip', 'body');
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Jielong API', description: 'Human-feedback studio: prompts, demonstrations, rankings, exports.', version: '1' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token from POST /v1/me/tokens' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'jielong_session' },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // nosniff, frame and referrer policies and the rest of helmet's defaults; the API answers JSON,
  // so its content security policy is the web app's business (apps/web/next.config.ts), and
  // /docs (Swagger UI) needs its inline scripts.
  await app.register(helmet, { contentSecurityPolicy: false });
  await app.register(cookie);
  await app.register(storableTextPlugin);
  await app.register(accessRulesPlugin);
  await app.register(lostConnectionPlugin);
  await app.register(keptReadsPlugin);
  await app.register(authPlugin);
  await app.register(idempotencyPlugin);
  await app.register(cleanupPlugin);
  await app.register(dashboardFoldPlugin);

  await app.register(
    async (v1) => {
      for (const routes of [
        authRoutes,
        meRoutes,
        userRoutes,
        projectRoutes,
        memberRoutes,
        promptRoutes,
        demonstrationRoutes,
        comparisonRoutes,
        ratingRoutes,
        rankingRoutes,
        exportRoutes,
        preferenceImportRoutes,
        dashboardRoutes,
        jobRoutes,
        modelRoutes,
        modelIoRoutes,
        qualityRoutes,
        arenaRoutes,
        playgroundRoutes,
      ]) {
        await v1.register(routes);
      }
    },
    { prefix: '/v1' },
  );
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
