import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AddMemberRequestSchema,
  MemberListResponseSchema,
  MemberParamsSchema,
  MemberResponseSchema,
  OkResponseSchema,
  ProjectParamsSchema,
  UpdateMemberRequestSchema,
} from '@jielong/shared';
import { access, requireProject } from '../access.ts';
import { ApiError, notFound } from '../errors.ts';
import { toMember } from '../dto.ts';
import { recordResponse } from '../plugins/idempotency.ts';

const withUser = { user: { select: { email: true, displayName: true } } } as const;

const memberRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/projects/:projectId/members',
    { config: { access: access.project('researcher', 'admin') }, schema: { tags: ['members'], params: ProjectParamsSchema, response: { 200: MemberListResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['researcher', 'admin']);
      const members = await app.prisma.projectMember.findMany({
        where: { projectId: req.params.projectId },
        include: withUser,
        orderBy: { createdAt: 'asc' },
      });
      return { items: members.map(toMember) };
    },
  );

  app.post(
    '/projects/:projectId/members',
    {
      config: { access: access.project('admin'), idempotent: true, changesKeptReads: true },
      schema: { tags: ['members'], params: ProjectParamsSchema, body: AddMemberRequestSchema, response: { 201: MemberResponseSchema } },
    },
    async (req, reply) => {
      await requireProject(req, req.params.projectId, ['admin']);
      const user = await app.prisma.user.findUnique({ where: { email: req.body.email.trim().toLowerCase() } });
      if (!user) throw notFound('user with this email', 'email');
      const existing = await app.prisma.projectMember.findUnique({ where: { projectId_userId: { projectId: req.params.projectId, userId: user.id } } });
      if (existing) throw new ApiError(409, 'already_member', 'this user is already a member; change their roles instead', 'email');
      const member = await app.prisma.$transaction(async (tx) => {
        const created = await tx.projectMember.create({
          data: { projectId: req.params.projectId, userId: user.id, roles: [...new Set(req.body.roles)] },
          include: withUser,
        });
        await recordResponse(tx, req, reply, 201, { member: toMember(created) });
        return created;
      });
      return reply.code(201).send({ member: toMember(member) });
    },
  );

  app.patch(
    '/projects/:projectId/members/:userId',
    { config: { access: access.project('admin'), changesKeptReads: true }, schema: { tags: ['members'], params: MemberParamsSchema, body: UpdateMemberRequestSchema, response: { 200: MemberResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['admin']);
      const where = { projectId_userId: { projectId: req.params.projectId, userId: req.params.userId } };
      if (!(await app.prisma.projectMember.findUnique({ where }))) throw notFound('member');
      const member = await app.prisma.projectMember.update({ where, data: { roles: [...new Set(req.body.roles)] }, include: withUser });
      return { member: toMember(member) };
    },
  );

  app.delete(
    '/projects/:projectId/members/:userId',
    { config: { access: access.project('admin'), changesKeptReads: true }, schema: { tags: ['members'], params: MemberParamsSchema, response: { 200: OkResponseSchema } } },
    async (req) => {
      await requireProject(req, req.params.projectId, ['admin']);
      const { count } = await app.prisma.projectMember.deleteMany({ where: { projectId: req.params.projectId, userId: req.params.userId } });
      if (count === 0) throw notFound('member');
      return { ok: true as const };
    },
  );
};

export default memberRoutes;
