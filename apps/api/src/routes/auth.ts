import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorBodySchema, LoginRequestSchema, LoginResponseSchema, OkResponseSchema, SESSION_COOKIE } from '@jielong/shared';
import { ApiError } from '../errors.ts';
import { newSecret, sha256, verifyPassword } from '../secrets.ts';
import { toUser } from '../dto.ts';
import { accountName, checkLoginLimit, clearAccountFailures, recordLoginFailure } from '../services/login-limit.ts';
import { access } from '../access.ts';

// A fixed hash to verify against when the email is unknown, so both cases take as long.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

const authRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/auth/login',
    { config: { access: access.anyone }, schema: { tags: ['auth'], body: LoginRequestSchema, response: { 200: LoginResponseSchema, 401: ErrorBodySchema, 429: ErrorBodySchema } } },
    async (req, reply) => {
      const email = accountName(req.body.email);
      // checked before the password, so a limited account cannot be probed (and costs no scrypt)
      await checkLoginLimit(app.prisma, app.config.loginLimit, email, req.ip);
      const user = await app.prisma.user.findUnique({ where: { email } });
      const ok = await verifyPassword(req.body.password, user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok) {
        await recordLoginFailure(app.prisma, email, req.ip);
        throw new ApiError(401, 'invalid_credentials', 'wrong email or password');
      }
      await clearAccountFailures(app.prisma, email);
      const secret = newSecret('s_');
      const expiresAt = new Date(Date.now() + app.config.sessionTtlMs);
      await app.prisma.$transaction([
        app.prisma.session.deleteMany({ where: { userId: user.id, expiresAt: { lt: new Date() } } }),
        app.prisma.session.create({ data: { tokenHash: sha256(secret), userId: user.id, expiresAt } }),
      ]);
      reply.setCookie(SESSION_COOKIE, secret, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        // behind HTTPS (req.protocol honours X-Forwarded-Proto from a trusted proxy) or when told to
        secure: app.config.secureCookies || req.protocol === 'https',
        expires: expiresAt,
      });
      return { user: toUser(user) };
    },
  );

  app.post('/auth/logout', { config: { access: access.anyone, changesKeptReads: true }, schema: { tags: ['auth'], response: { 200: OkResponseSchema } } }, async (req, reply) => {
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie) await app.prisma.session.deleteMany({ where: { tokenHash: sha256(cookie) } });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true as const };
  });
};

export default authRoutes;
