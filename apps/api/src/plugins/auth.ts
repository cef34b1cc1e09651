// Resolves the caller on every request: a bearer API token (scripts) or the session cookie (UI).
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SESSION_COOKIE, type Role } from '@jielong/shared';
import { sha256 } from '../secrets.ts';
import { ApiError } from '../errors.ts';
import { retryIfConnectionLost } from './lost-connection.ts';
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

function toAuthUser(u: { id: string; email: string; displayName: string; roles: Role[]; locale: string; createdAt: Date }): AuthUser {
  return { id: u.id, email: u.email, displayName: u.displayName, roles: u.roles, locale: u.locale, createdAt: u.createdAt };
}

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
        const token = await app.prisma.apiToken.findUnique({ where: { tokenHash: sha256(m[1]) }, include: { user: true } });
        if (!token || token.revokedAt) throw new ApiError(401, 'unauthenticated', 'unknown or revoked API token', 'authorization');
        if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > TOKEN_TOUCH_MS) {
          await app.prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date() } });
        }
        return toAuthUser(token.user);
      });
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const crossSite = crossSiteReason(req);
    if (crossSite) throw new ApiError(403, 'cross_site', `a request that changes data must come from the studio's own pages (${crossSite})`, 'origin');
    const session = await retryIfConnectionLost(() => app.prisma.session.findUnique({ where: { tokenHash: sha256(cookie) }, include: { user: true } }));
    if (session && session.expiresAt > new Date()) req.user = toAuthUser(session.user);
  });
});
