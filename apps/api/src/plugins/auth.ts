// Resolves the caller on every request: a bearer API token (scripts) or the session cookie (UI).
//
// A rater's every hand-out and submission asks who is calling, and a round trip for it was two of
// the five statements of a ranking (issue 13). So what a credential resolved to is kept in memory
// (kept-reads.ts), and forgotten at the commit of a logout, a revocation, a password or role
// change, by any writer. Only a credential that resolved is kept: a refused one is asked again
// each time.
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SESSION_COOKIE, type Role } from '@jielong/shared';
import { sha256 } from '../secrets.ts';
import { ApiError } from '../errors.ts';
import { retryIfConnectionLost } from './lost-connection.ts';
import { isoColumn, prepared } from '../sql.ts';
import type { AuthUser } from '../types.ts';

const TOKEN_TOUCH_MS = 60_000;
/** credentials kept at most, and for at most this long should a notification ever be lost */
const KEPT_CREDENTIALS = 10_000;
const KEPT_MS = 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: a cookie rides along on requests another site makes, so a state-changing request that
 * authenticates by cookie must come from the studio's own pages. Browsers say where a request
 * came from in Sec-Fetch-Site ('same-site' covers other ports and sibling subdomains, which
 * SameSite=Lax lets through); older ones send Origin, compared with the host that was asked.
 * A request with neither header is not a browser's cross-site request. Bearer tokens are not
 * sent by browsers on their own, so they need no check.
 */
function crossSiteReason(req: FastifyRequest): string | null {
  if (SAFE_METHODS.has(req.method)) return null;
  const site = req.headers['sec-fetch-site'];
  if (site) return site === 'same-origin' || site === 'none' ? null : `Sec-Fetch-Site: ${site}`;
  const origin = req.headers.origin;
  if (!origin) return null;
  const host = req.headers['x-forwarded-host'] ?? req.headers.host;
  try {
    return new URL(origin).host === host ? null : `Origin: ${origin}`;
  } catch {
    return `Origin: ${origin}`;
  }
}

type UserRow = { id: string; email: string; displayName: string; roles: Role[]; locale: string; createdAt: string };

/** What an API token resolved to, and when its use was last recorded. */
interface KeptToken {
  user: AuthUser;
  tokenId: string;
  touchedAt: number;
}

/** frozen: one kept user is every request's of that credential */
function toAuthUser(u: UserRow): AuthUser {
  return Object.freeze({ id: u.id, email: u.email, displayName: u.displayName, roles: Object.freeze(u.roles) as Role[], locale: u.locale, createdAt: new Date(u.createdAt) });
}

// Asked on every request, so each is one prepared statement on the pool (see sql.ts)
const USER_COLUMNS = `u.id, u.email, u."displayName", u.roles::text[] AS roles, u.locale, ${isoColumn('u."createdAt"')} AS "createdAt"`;
const TOKEN_SQL = `SELECT t.id AS "tokenId", t."revokedAt" IS NOT NULL AS revoked,
    t."lastUsedAt" IS NULL OR t."lastUsedAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => $2::float8 / 1000) AS stale, ${USER_COLUMNS}
  FROM "ApiToken" t JOIN "User" u ON u.id = t."userId" WHERE t."tokenHash" = $1`;
const TOUCH_SQL = `UPDATE "ApiToken" SET "lastUsedAt" = now() AT TIME ZONE 'UTC' WHERE id = $1`;
const SESSION_SQL = `SELECT ${USER_COLUMNS}, ${isoColumn('s."expiresAt"')} AS "expiresAt" FROM "Session" s JOIN "User" u ON u.id = s."userId"
  WHERE s."tokenHash" = $1 AND s."expiresAt" > now() AT TIME ZONE 'UTC'`;

export default fp(async (app) => {
  app.decorateRequest('user', null);
  // credential hash → what it resolved to (a session until it expires)
  const tokens = await app.keptReads<KeptToken>({ max: KEPT_CREDENTIALS, maxAgeMs: KEPT_MS });
  const sessions = await app.keptReads<AuthUser>({ max: KEPT_CREDENTIALS, maxAgeMs: KEPT_MS });
  app.addHook('onSend', async (req, reply) => {
    // what one account may see is never for a shared cache, nor for the browser's back button after logout
    if (req.user && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onRequest', async (req) => {
    const authorization = req.headers.authorization;
    if (authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m) throw new ApiError(401, 'unauthenticated', 'Authorization must be "Bearer <token>"', 'authorization');
      const hash = sha256(m[1]);
      const known = tokens.get(hash);
      if (known) {
        if (Date.now() - known.touchedAt >= TOKEN_TOUCH_MS) {
          known.touchedAt = Date.now();
          await retryIfConnectionLost(() => prepared(app.prisma, 'jl_auth_touch', TOUCH_SQL, [known.tokenId]));
        }
        req.user = known.user;
        return;
      }
      const mark = tokens.mark();
      // a read and a touch, both safe to repeat when the database connection broke under them
      req.user = await retryIfConnectionLost(async () => {
        const [token] = await prepared<UserRow & { tokenId: string; revoked: boolean; stale: boolean }>(app.prisma, 'jl_auth_token', TOKEN_SQL, [hash, TOKEN_TOUCH_MS]);
        if (!token || token.revoked) throw new ApiError(401, 'unauthenticated', 'unknown or revoked API token', 'authorization');
        if (token.stale) await prepared(app.prisma, 'jl_auth_touch', TOUCH_SQL, [token.tokenId]);
        const user = toAuthUser(token);
        // a token whose use was recorded less than a minute ago is touched again a minute from now at the latest
        tokens.keep(hash, mark, { user, tokenId: token.tokenId, touchedAt: Date.now() });
        return user;
      });
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const crossSite = crossSiteReason(req);
    if (crossSite) throw new ApiError(403, 'cross_site', `a request that changes data must come from the studio's own pages (${crossSite})`, 'origin');
    const hash = sha256(cookie);
    const known = sessions.get(hash);
    if (known) {
      req.user = known;
      return;
    }
    const mark = sessions.mark();
    const [session] = await retryIfConnectionLost(() => prepared<UserRow & { expiresAt: string }>(app.prisma, 'jl_auth_session', SESSION_SQL, [hash]));
    if (!session) return;
    req.user = toAuthUser(session);
    sessions.keep(hash, mark, req.user, Date.parse(session.expiresAt));
  });
});
