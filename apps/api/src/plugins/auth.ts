// Resolves the caller on every request: a bearer API token (scripts) or the session cookie (UI).
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SESSION_COOKIE, type Role } from '@jielong/shared';
import { sha256 } from '../secrets.ts';
import { ApiError } from '../errors.ts';
import { retryIfConnectionLost } from './lost-connection.ts';
import { isoColumn, prepared } from '../sql.ts';
import type { AuthUser } from '../types.ts';

const TOKEN_TOUCH_MS = 60_000;
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

function toAuthUser(u: UserRow): AuthUser {
  return { id: u.id, email: u.email, displayName: u.displayName, roles: u.roles, locale: u.locale, createdAt: new Date(u.createdAt) };
}

// Asked on every request, so each is one prepared statement on the pool (see sql.ts)
const USER_COLUMNS = `u.id, u.email, u."displayName", u.roles::text[] AS roles, u.locale, ${isoColumn('u."createdAt"')} AS "createdAt"`;
const TOKEN_SQL = `SELECT t.id AS "tokenId", t."revokedAt" IS NOT NULL AS revoked,
    t."lastUsedAt" IS NULL OR t."lastUsedAt" < (now() AT TIME ZONE 'UTC') - make_interval(secs => $2::float8 / 1000) AS stale, ${USER_COLUMNS}
  FROM "ApiToken" t JOIN "User" u ON u.id = t."userId" WHERE t."tokenHash" = $1`;
const TOUCH_SQL = `UPDATE "ApiToken" SET "lastUsedAt" = now() AT TIME ZONE 'UTC' WHERE id = $1`;
const SESSION_SQL = `SELECT ${USER_COLUMNS} FROM "Session" s JOIN "User" u ON u.id = s."userId"
  WHERE s."tokenHash" = $1 AND s."expiresAt" > now() AT TIME ZONE 'UTC'`;

export default fp(async (app) => {
  app.decorateRequest('user', null);
  // what one account may see is never for a shared cache, nor for the browser's back button after logout
  app.addHook('onSend', async (req, reply) => {
    if (req.user && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onRequest', async (req) => {
    const authorization = req.headers.authorization;
    if (authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m) throw new ApiError(401, 'unauthenticated', 'Authorization must be "Bearer <token>"', 'authorization');
      // a read and a touch, both safe to repeat when the database connection broke under them
      req.user = await retryIfConnectionLost(async () => {
        const [token] = await prepared<UserRow & { tokenId: string; revoked: boolean; stale: boolean }>(app.prisma, 'jl_auth_token', TOKEN_SQL, [sha256(m[1]), TOKEN_TOUCH_MS]);
        if (!token || token.revoked) throw new ApiError(401, 'unauthenticated', 'unknown or revoked API token', 'authorization');
        if (token.stale) await prepared(app.prisma, 'jl_auth_touch', TOUCH_SQL, [token.tokenId]);
        return toAuthUser(token);
      });
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const crossSite = crossSiteReason(req);
    if (crossSite) throw new ApiError(403, 'cross_site', `a request that changes data must come from the studio's own pages (${crossSite})`, 'origin');
    const [user] = await retryIfConnectionLost(() => prepared<UserRow>(app.prisma, 'jl_auth_session', SESSION_SQL, [sha256(cookie)]));
    if (user) req.user = toAuthUser(user);
  });
});
