import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ChangePasswordRequestSchema,
  ChangePasswordResponseSchema,
  CreateTokenRequestSchema,
  CreateTokenResponseSchema,
  IdParamsSchema,
  MeResponseSchema,
  OkResponseSchema,
  TokenListResponseSchema,
  SESSION_COOKIE,
  UpdateMeRequestSchema,
} from '@jielong/shared';
import { access, requireUser } from '../access.ts';
import { ApiError, notFound } from '../errors.ts';
import { newSecret, sha256, verifyPassword } from '../secrets.ts';
import { toToken, toUser } from '../dto.ts';
import { setPassword } from '../services/credentials.ts';
import { recordResponse } from '../plugins/idempotency.ts';

const TOKEN_PREFIX = 'jl_';

const meRoutes: FastifyPluginAsyncZod = async (app) => {
  const me = async (userId: string) => {
    const user = await app.prisma.user.findUniqueOrThrow({
      where: { id: userId },
      include: { memberships: { include: { project: { select: { name: true } } }, orderBy: { createdAt: 'asc' } } },
    });
    return {
      user: toUser(user),
      memberships: user.memberships.map((m) => ({ projectId: m.projectId, projectName: m.project.name, roles: m.roles })),
    };
  };

  app.get('/me', { config: { access: access.signedIn }, schema: { tags: ['me'], response: { 200: MeResponseSchema } } }, async (req) => me(requireUser(req).id));

  app.patch('/me', { config: { access: access.signedIn, changesKeptReads: true }, schema: { tags: ['me'], body: UpdateMeRequestSchema, response: { 200: MeResponseSchema } } }, async (req) => {
    const user = requireUser(req);
    await app.prisma.user.update({ where: { id: user.id }, data: req.body });
    return me(user.id);
  });

  app.post('/me/password', { config: { access: access.signedIn, changesKeptReads: true }, schema: { tags: ['me'], body: ChangePasswordRequestSchema, response: { 200: ChangePasswordResponseSchema } } }, async (req) => {
    const user = requireUser(req);
    const row = await app.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    if (!(await verifyPassword(req.body.currentPassword, row.passwordHash))) {
      throw new ApiError(400, 'invalid', 'current password is wrong', 'currentPassword');
    }
    // this browser stays signed in; every other session and every API token of the account ends
    const cookie = req.cookies[SESSION_COOKIE];
    const counts = await setPassword(app.prisma, user.id, req.body.newPassword, cookie ? sha256(cookie) : undefined);
    return { ok: true as const, ...counts };
  });

  app.get('/me/tokens', { config: { access: access.signedIn }, schema: { tags: ['me'], response: { 200: TokenListResponseSchema } } }, async (req) => {
    const user = requireUser(req);
    const tokens = await app.prisma.apiToken.findMany({ where: { userId: user.id }, orderBy: { createdAt: 'desc' } });
    return { items: tokens.map(toToken) };
  });

  app.post(
    '/me/tokens',
    { config: { access: access.signedIn, idempotent: true }, schema: { tags: ['me'], body: CreateTokenRequestSchema, response: { 201: CreateTokenResponseSchema } } },
    async (req, reply) => {
      const user = requireUser(req);
      const secret = newSecret(TOKEN_PREFIX);
      const token = await app.prisma.$transaction(async (tx) => {
        const created = await tx.apiToken.create({
          data: { userId: user.id, name: req.body.name, prefix: secret.slice(0, TOKEN_PREFIX.length + 6), tokenHash: sha256(secret) },
        });
        // the key's answer (with the secret, shown once) commits with the token
        await recordResponse(tx, req, reply, 201, { token: toToken(created), secret });
        return created;
      });
      return reply.code(201).send({ token: toToken(token), secret });
    },
  );

  app.delete('/me/tokens/:id', { config: { access: access.signedIn, changesKeptReads: true }, schema: { tags: ['me'], params: IdParamsSchema, response: { 200: OkResponseSchema } } }, async (req) => {
    const user = requireUser(req);
    const { count } = await app.prisma.apiToken.updateMany({
      where: { id: req.params.id, userId: user.id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (count === 0 && !(await app.prisma.apiToken.findFirst({ where: { id: req.params.id, userId: user.id } }))) throw notFound('token');
    return { ok: true as const };
  });
};

export default meRoutes;
