// Idempotency-Key on creating POSTs: the first response (2xx) is stored and replayed to a retry
// with the same key and body; the same key with another body or endpoint is a 422.
// The key is claimed (a placeholder row) before the handler runs, so two concurrent retries
// cannot both create: the second gets a 409 until the first finishes.
import fp from 'fastify-plugin';
import { IDEMPOTENCY_HEADER } from '@jielong/shared';
import { Prisma } from '../db.ts';
import { ApiError, badRequest, conflict } from '../errors.ts';
import { sha256 } from '../secrets.ts';

const IN_FLIGHT = 0;
/** a claim older than this whose request never finished (crash) may be taken over */
const STALE_CLAIM_MS = 5 * 60_000;

export default fp(async (app) => {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (req, reply) => {
    const header = req.headers[IDEMPOTENCY_HEADER];
    if (!req.routeOptions.config.idempotent || header === undefined || !req.user) return;
    const key = Array.isArray(header) ? header[0] : header;
    if (!key || key.length > 200) throw badRequest('Idempotency-Key', 'Idempotency-Key must be 1 to 200 characters');

    const userId = req.user.id;
    const scope = `${req.method} ${req.url.split('?')[0]}`;
    const requestHash = sha256(typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null));
    const claim = { userId, key, scope, requestHash, statusCode: IN_FLIGHT, responseBody: {} };

    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await app.prisma.idempotencyKey.create({ data: claim });
        req.idempotency = { userId, key };
        return;
      } catch (err) {
        if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
      }
      const stored = await app.prisma.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
      if (!stored) continue; // released between our insert and our read: try to claim again
      if (stored.scope !== scope || stored.requestHash !== requestHash) {
        throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request', 'Idempotency-Key');
      }
      if (stored.statusCode === IN_FLIGHT) {
        if (Date.now() - stored.createdAt.getTime() < STALE_CLAIM_MS) throw conflict('request_in_progress', 'a request with this Idempotency-Key is still being processed');
        await app.prisma.idempotencyKey.deleteMany({ where: { userId, key, statusCode: IN_FLIGHT } });
        continue;
      }
      reply.header('idempotent-replayed', 'true').code(stored.statusCode);
      return reply.type('application/json').serializer((p: unknown) => JSON.stringify(p)).send(stored.responseBody);
    }
    throw conflict('request_in_progress', 'a request with this Idempotency-Key is still being processed');
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const claim = req.idempotency;
    if (!claim) return payload;
    req.idempotency = null;
    const where = { userId_key: claim };
    if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
      await app.prisma.idempotencyKey.update({ where, data: { statusCode: reply.statusCode, responseBody: JSON.parse(payload) } });
    } else {
      // failures are not stored: the client may fix the problem and retry with the same key
      await app.prisma.idempotencyKey.delete({ where });
    }
    return payload;
  });
});
