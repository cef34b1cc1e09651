// Idempotency-Key on creating POSTs: the first response (2xx) is stored and replayed to a retry
// with the same key and body; the same key with another body or endpoint is a 422.
//
// The key is claimed (a placeholder row) before the handler runs, so two concurrent retries
// cannot both create: the second gets a 409 while the first is alive. A claim names its process's
// lease (@jielong/db startProcessLease) and carries a token of its own:
// - a claim whose process died (kill -9, a crash) is taken over by the retry at once;
// - a handler that writes in a transaction stores its response in that same transaction with
//   `recordResponse`, and only while its token still holds the claim. So a write is never
//   committed without its answer, and a request whose claim was taken over commits nothing.
// Routes that do not call recordResponse store the response as it is sent.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { IDEMPOTENCY_HEADER } from '@jielong/shared';
import { LEASE_HELD_SQL } from '@jielong/db';
import { Prisma, type Db } from '../db.ts';
import { badRequest, idempotencyInProgress, idempotencyKeyReused, isConnectionLost } from '../errors.ts';
import { sha256 } from '../secrets.ts';
import { retryIfConnectionLost } from './lost-connection.ts';

const IN_FLIGHT = 0;
/** a claim without a lease (an API without one, or rows from before leases) may be taken over after this */
const STALE_CLAIM_MS = 5 * 60_000;

/** A request's Idempotency-Key, the endpoint it was sent to and a hash of its body. */
export interface RequestKey {
  key: string;
  scope: string;
  requestHash: string;
}

/**
 * The Idempotency-Key of a request (null: none sent). A `keyInTransaction` route claims it in its
 * write transaction: the first response is stored there and replayed to a retry with the same key
 * and body; another body or endpoint is a 422.
 */
export function idempotencyKeyOf(req: FastifyRequest): RequestKey | null {
  const header = req.headers[IDEMPOTENCY_HEADER];
  if (header === undefined) return null;
  const key = Array.isArray(header) ? header[0] : header;
  if (!key || key.length > 200) throw badRequest('Idempotency-Key', 'Idempotency-Key must be 1 to 200 characters');
  return { key, scope: `${req.method} ${req.url.split('?')[0]}`, requestHash: sha256(typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null)) };
}

/**
 * A `keyInTransaction` route met a claim left by a request of the generic path: 409 while that
 * request may still answer, else the claim is dropped (its write, if any, rolled back with it)
 * and the route claims the key anew.
 */
export async function takeOverStaleClaim(app: FastifyInstance, userId: string, key: string, held: { owner: number | null; claim: string | null; createdAt: Date }) {
  if (await app.idempotencyClaimAlive(held.owner, held.claim, held.createdAt)) throw idempotencyInProgress();
  await app.prisma.idempotencyKey.deleteMany({ where: { userId, key, statusCode: IN_FLIGHT, claim: held.claim } });
}

/**
 * Stores the response to the claimed key inside the handler's write transaction `tx`; throws
 * (rolling the write back) when the claim is no longer this request's. Without a key, a no-op.
 */
export async function recordResponse(tx: Db, req: FastifyRequest, reply: FastifyReply, statusCode: number, body: unknown): Promise<void> {
  const claim = req.idempotency;
  if (!claim) return;
  // the route's own serializer, so the stored body is byte for byte what this response sends
  const payload = reply.code(statusCode).serialize(body);
  const { count } = await tx.idempotencyKey.updateMany({
    where: { userId: claim.userId, key: claim.key, claim: claim.token, statusCode: IN_FLIGHT },
    data: { statusCode, responseBody: JSON.parse(String(payload)) as Prisma.InputJsonValue, owner: null, claim: null },
  });
  if (count !== 1) throw idempotencyInProgress();
  claim.recorded = true;
}

/** Answers a request with a key's stored answer, as it was stored (the route's serializer made it). */
export function sendStoredAnswer(reply: FastifyReply, statusCode: number, body: unknown) {
  return reply.header('idempotent-replayed', 'true').code(statusCode).type('application/json').serializer((p: unknown) => JSON.stringify(p)).send(body);
}

export default fp(
  async (app) => {
    app.decorateRequest('idempotency', null);
    const lease = app.lease;

    /** tokens of the claims this process's requests hold right now */
    const active = new Set<string>();
    const ownerAlive = async (owner: number | null, claim: string | null, createdAt: Date) => {
      if (owner === null || !lease) return Date.now() - createdAt.getTime() < STALE_CLAIM_MS;
      if (owner === lease.key) return claim !== null && active.has(claim);
      const [row] = await app.prisma.$queryRawUnsafe<{ held: boolean }[]>(LEASE_HELD_SQL, owner);
      return row.held;
    };
    app.decorate('idempotencyClaimAlive', ownerAlive);

    /**
     * Claims the key for this request, or replays its stored response. Called again by a request
     * repeated after a lost database connection: a claim it already holds is kept.
     */
    const claimOrReplay = async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.routeOptions.config.idempotent || req.routeOptions.config.keyInTransaction || !req.user) return;
      const sent = idempotencyKeyOf(req);
      if (!sent) return;
      const { key, scope, requestHash } = sent;
      const userId = req.user.id;
      const token = req.idempotency?.token ?? randomUUID();
      const owner = lease?.key ?? null;
      const hold = () => {
        req.idempotency = { userId, key, token, recorded: false };
        active.add(token);
      };

      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await app.prisma.idempotencyKey.create({ data: { userId, key, scope, requestHash, statusCode: IN_FLIGHT, responseBody: {}, owner, claim: token } });
          return hold();
        } catch (err) {
          if (!(err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002')) throw err;
        }
        const stored = await app.prisma.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
        if (!stored) continue; // released between our insert and our read: try to claim again
        if (stored.scope !== scope || stored.requestHash !== requestHash) {
          throw idempotencyKeyReused();
        }
        if (stored.statusCode === IN_FLIGHT) {
          if (stored.claim === token) return hold();
          if (await ownerAlive(stored.owner, stored.claim, stored.createdAt)) throw idempotencyInProgress();
          // its process is gone and its write (if any) was rolled back with it: the key is ours
          const { count } = await app.prisma.idempotencyKey.updateMany({
            where: { userId, key, statusCode: IN_FLIGHT, claim: stored.claim },
            data: { owner, claim: token, createdAt: new Date() },
          });
          if (count === 1) return hold();
          continue;
        }
        req.idempotency = null;
        return sendStoredAnswer(reply, stored.statusCode, stored.responseBody);
      }
      throw idempotencyInProgress();
    };
    app.addHook('preHandler', (req, reply) => retryIfConnectionLost(() => claimOrReplay(req, reply)));

    // A keyed request whose database connection broke runs once more on a fresh one: first asking
    // the key whether the first try committed (then its answer is replayed), else repeating it.
    app.addHook('onRoute', (route) => {
      if (!route.config?.idempotent || route.config.keyInTransaction) return;
      const handler = route.handler;
      route.handler = async function (req, reply) {
        try {
          return await handler.call(this, req, reply);
        } catch (err) {
          if (!isConnectionLost(err) || reply.sent || !req.idempotency) throw err;
          req.log.warn('database connection lost; repeating the keyed request');
          await retryIfConnectionLost(() => claimOrReplay(req, reply));
          return reply.sent ? reply : handler.call(this, req, reply);
        }
      };
    });

    app.addHook('onSend', async (req, reply, payload) => {
      const claim = req.idempotency;
      if (!claim) return payload;
      req.idempotency = null;
      if (claim.recorded) {
        active.delete(claim.token);
        return payload;
      }
      const where = { userId: claim.userId, key: claim.key, claim: claim.token, statusCode: IN_FLIGHT };
      try {
        await retryIfConnectionLost(async () => {
          if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
            await app.prisma.idempotencyKey.updateMany({ where, data: { statusCode: reply.statusCode, responseBody: JSON.parse(payload), owner: null, claim: null } });
          } else {
            // failures are not stored: the client may fix the problem and retry with the same key
            await app.prisma.idempotencyKey.deleteMany({ where });
          }
        });
      } catch (err) {
        // The response goes out regardless. The claim stays, no longer active here, so a retry
        // takes it over (a write whose answer was not stored in its transaction may then repeat).
        req.log.warn({ err }, 'could not settle the Idempotency-Key');
      }
      active.delete(claim.token);
      return payload;
    });
  },
  { name: 'jielong-idempotency', fastify: '5.x' },
);
