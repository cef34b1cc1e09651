// Every error leaves the API as { error: { code, message, field? } }; this file is the one place
// that maps thrown errors (ours, zod's, Fastify's, Prisma's) to status codes.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { DialogueError } from '@jielong/shared';
import { Prisma } from './db.ts';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** sent as Retry-After (seconds): when the same request may succeed */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string) => new ApiError(400, 'invalid', message, field);
export const unauthenticated = () => new ApiError(401, 'unauthenticated', 'log in, or send Authorization: Bearer <token>');
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const notFound = (what: string, field?: string) => new ApiError(404, 'not_found', `${what} not found`, field);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
/** An Idempotency-Key whose first request is still being answered (plugins/idempotency.ts, the rating submission) */
export const idempotencyInProgress = () => conflict('request_in_progress', 'a request with this Idempotency-Key is still being processed');
/** An Idempotency-Key sent again with another body or to another endpoint */
export const idempotencyKeyReused = () => new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request', 'Idempotency-Key');
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number, field?: string) => new ApiError(429, code, message, field, retryAfterSeconds);

// SQLSTATE classes/codes of a connection the server dropped or refused: admin shutdown, crash,
// "cannot connect now" (57P0x) and connection exceptions (08xxx).
const LOST_CONNECTION_CODE = /^(57P0[1-3]|08...)$/;
// what pg and Prisma's pg adapter throw when the socket itself broke
const LOST_CONNECTION_MESSAGE = /not queryable|Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|server closed the connection/i;

type AdapterCause = { originalCode?: string; kind?: string };
const lostByAdapter = (cause: AdapterCause | undefined) =>
  LOST_CONNECTION_CODE.test(cause?.originalCode ?? '') || cause?.kind === 'ConnectionClosed' || cause?.kind === 'DatabaseNotReachable';

/**
 * The database connection broke under this request (a failover, pg_terminate_backend, a restart).
 * The pool has already dropped that connection, so the request may be repeated on a fresh one
 * when that is safe (plugins/lost-connection.ts); otherwise it answers 503.
 */
export function isConnectionLost(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (err.code === 'P1001' || err.code === 'P1017') return true;
    return lostByAdapter((err.meta?.driverAdapterError as { cause?: AdapterCause } | undefined)?.cause);
  }
  // raw SQL in a transaction (the ranking submit) throws the adapter's own DriverAdapterError
  if (err.name === 'DriverAdapterError') return lostByAdapter((err as { cause?: AdapterCause }).cause);
  // node-postgres itself (the prepared statements of sql.ts)
  if (typeof (err as { code?: unknown }).code === 'string' && LOST_CONNECTION_CODE.test((err as unknown as { code: string }).code)) return true;
  return LOST_CONNECTION_MESSAGE.test(err.message) || (err.cause instanceof Error && isConnectionLost(err.cause));
}

function send(reply: FastifyReply, status: number, code: string, message: string, field?: string) {
  return reply.code(status).type('application/json').send(JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } }));
}

/**
 * Errors Fastify meets before routing (Fastify's `frameworkErrors` option), such as a path that is
 * not valid percent-encoded UTF-8: in the same shape as every other error.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_BAD_URL') return send(reply, 400, 'invalid', 'the URL is not valid percent-encoded UTF-8', 'url');
  return send(reply, err.statusCode && err.statusCode < 500 ? err.statusCode : 400, 'bad_request', err.message);
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setNotFoundHandler((req, reply) => send(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
      return send(reply, err.statusCode, err.code, err.message, err.field);
    }

    // a turn of an imported dialogue: its path names the line and field ("line 3.messages.1.role")
    if (err instanceof DialogueError) return send(reply, 400, 'invalid', err.message, err.path);

    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0];
      const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
      // a bad body as a whole (not an object) has no path: name the part of the request instead
      const field = path || err.validationContext || 'body';
      return send(reply, 400, 'invalid', `${field}: ${first.message}`, field);
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, 413, 'body_too_large', 'request body is too large', 'body');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, 415, 'unsupported_media_type', err.message, 'content-type');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return send(reply, 400, 'invalid', 'body is not valid JSON', 'body');
    }
    if (err instanceof SyntaxError && err.statusCode === 400) return send(reply, 400, 'invalid', 'body is not valid JSON', 'body');
    if (isConnectionLost(err)) {
      req.log.warn({ err }, 'database connection lost');
      reply.header('retry-after', '1');
      return send(reply, 503, 'database_unavailable', 'the database connection was lost; try again');
    }
    if (err instanceof Prisma.PrismaClientKnownRequestError) {
      if (err.code === 'P2025') return send(reply, 404, 'not_found', 'record not found');
      if (err.code === 'P2002') return send(reply, 409, 'conflict', 'that already exists');
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ issues: err.cause.issues }, 'response does not match its schema');
      return send(reply, 500, 'internal', 'internal error');
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return send(reply, err.statusCode, err.code?.toLowerCase() ?? 'bad_request', err.message);
    }
    req.log.error(err);
    return send(reply, 500, 'internal', 'internal error');
  });
}
