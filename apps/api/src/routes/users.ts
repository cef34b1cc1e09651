import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateUserRequestSchema,
  IdParamsSchema,
  UpdateUserRequestSchema,
  UserListQuerySchema,
  UserListResponseSchema,
  UpdateUserResponseSchema,
  UserResponseSchema,
} from '@jielong/shared';
import { access, requireGlobalRole } from '../access.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { hashPassword } from '../secrets.ts';
import { setPassword } from '../services/credentials.ts';
import { toUser } from '../dto.ts';
import { recordResponse } from '../plugins/idempotency.ts';

// People are created by admins (there is no self sign-up); project admins then add them as members.
const userRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/users', { config: { access: access.global('admin') }, schema: { tags: ['users'], querystring: UserListQuerySchema, response: { 200: UserListResponseSchema } } }, async (req) => {
    requireGlobalRole(req, ['admin']);
    const { q, limit, offset } = req.query;
    const where = q
      ? { OR: [{ email: { contains: q, mode: 'insensitive' as const } }, { displayName: { contains: q, mode: 'insensitive' as const } }] }
      : {};
    const [items, total] = await Promise.all([
      app.prisma.user.findMany({ where, orderBy: { createdAt: 'asc' }, take: limit, skip: offset }),
      app.prisma.user.count({ where }),
    ]);
    return { items: items.map(toUser), total };
  });

  app.post(
    '/users',
    { config: { access: access.global('admin'), idempotent: true }, schema: { tags: ['users'], body: CreateUserRequestSchema, response: { 201: UserResponseSchema } } },
    async (req, reply) => {
      requireGlobalRole(req, ['admin']);
      const email = req.body.email.trim().toLowerCase();
      if (await app.prisma.user.findUnique({ where: { email } })) {
        throw new ApiError(409, 'email_taken', 'a user with this email exists', 'email');
      }
      const passwordHash = await hashPassword(req.body.password);
      const user = await app.prisma.$transaction(async (tx) => {
        const created = await tx.user.create({
          data: { email, displayName: req.body.displayName, passwordHash, roles: [...new Set(req.body.roles)], locale: req.body.locale },
        });
        await recordResponse(tx, req, reply, 201, { user: toUser(created) });
        return created;
      });
      return reply.code(201).send({ user: toUser(user) });
    },
  );

  app.patch(
    '/users/:id',
    { config: { access: access.global('admin'), changesKeptReads: true }, schema: { tags: ['users'], params: IdParamsSchema, body: UpdateUserRequestSchema, response: { 200: UpdateUserResponseSchema } } },
    async (req) => {
      const admin = requireGlobalRole(req, ['admin']);
      const existing = await app.prisma.user.findUnique({ where: { id: req.params.id } });
      if (!existing) throw notFound('user');
      const { displayName, roles, password } = req.body;
      if (existing.id === admin.id && roles && !roles.includes('admin')) {
        throw conflict('last_admin', 'you cannot remove your own admin role');
      }
      const user = await app.prisma.user.update({
        where: { id: existing.id },
        data: {
          displayName,
          roles: roles ? [...new Set(roles)] : undefined,
        },
      });
      if (!password) return { user: toUser(user) };
      // a reset by an admin ends all the user's sessions and revokes their API tokens
      return { user: toUser(user), ...(await setPassword(app.prisma, user.id, password)) };
    },
  );
};

export default userRoutes;
