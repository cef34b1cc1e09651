// Resolves the caller on every request: a bearer API token (scripts) or the session cookie (UI).
import fp from 'fastify-plugin';
import { SESSION_COOKIE, type Role } from '@jielong/shared';
import { sha256 } from '../secrets.ts';
import { ApiError } from '../errors.ts';
import type { AuthUser } from '../types.ts';

const TOKEN_TOUCH_MS = 60_000;

function toAuthUser(u: { id: string; email: string; displayName: string; roles: Role[]; locale: string; createdAt: Date }): AuthUser {
  return { id: u.id, email: u.email, displayName: u.displayName, roles: u.roles, locale: u.locale, createdAt: u.createdAt };
}

export default fp(async (app) => {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    const authorization = req.headers.authorization;
    if (authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m) throw new ApiError(401, 'unauthenticated', 'Authorization must be "Bearer <token>"', 'authorization');
      const token = await app.prisma.apiToken.findUnique({ where: { tokenHash: sha256(m[1]) }, include: { user: true } });
      if (!token || token.revokedAt) throw new ApiError(401, 'unauthenticated', 'unknown or revoked API token', 'authorization');
      if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > TOKEN_TOUCH_MS) {
        await app.prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date() } });
      }
      req.user = toAuthUser(token.user);
      return;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    if (!cookie) return;
    const session = await app.prisma.session.findUnique({ where: { tokenHash: sha256(cookie) }, include: { user: true } });
    if (session && session.expiresAt > new Date()) req.user = toAuthUser(session.user);
  });
});
