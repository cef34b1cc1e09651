import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CreateProjectRequestSchema,
  ProjectListResponseSchema,
  ProjectParamsSchema,
  ProjectResponseSchema,
  ROLES,
  UpdateProjectRequestSchema,
} from '@jielong/shared';
import { access, requireGlobalRole, requireProject, requireUser } from '../access.ts';
import { toProject } from '../dto.ts';
import { recordResponse } from '../plugins/idempotency.ts';

const projectRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/projects', { config: { access: access.signedIn }, schema: { tags: ['projects'], response: { 200: ProjectListResponseSchema } } }, async (req) => {
    const user = requireUser(req);
    if (user.roles.includes('admin')) {
      const projects = await app.prisma.project.findMany({ orderBy: { createdAt: 'asc' } });
      return { items: projects.map((p) => toProject(p, [...ROLES])) };
    }
    const memberships = await app.prisma.projectMember.findMany({
      where: { userId: user.id },
      include: { project: true },
      orderBy: { project: { createdAt: 'asc' } },
    });
    return { items: memberships.map((m) => toProject(m.project, m.roles.includes('admin') ? [...ROLES] : m.roles)) };
  });

  app.post(
    '/projects',
    { config: { access: access.global('researcher'), idempotent: true }, schema: { tags: ['projects'], body: CreateProjectRequestSchema, response: { 201: ProjectResponseSchema } } },
    async (req, reply) => {
      const user = requireGlobalRole(req, ['researcher']);
      // the creator runs the project: researcher + project admin (manages its members)
      const project = await app.prisma.$transaction(async (tx) => {
        const created = await tx.project.create({
          data: { ...req.body, createdById: user.id, members: { create: { userId: user.id, roles: ['researcher', 'admin'] } } },
        });
        // the key's answer commits with the project (a retry after a crash gets this response)
        await recordResponse(tx, req, reply, 201, { project: toProject(created, [...ROLES]) });
        return created;
      });
      return reply.code(201).send({ project: toProject(project, [...ROLES]) });
    },
  );

  app.get('/projects/:projectId', { config: { access: access.project() }, schema: { tags: ['projects'], params: ProjectParamsSchema, response: { 200: ProjectResponseSchema } } }, async (req) => {
    const { project, roles } = await requireProject(req, req.params.projectId);
    return { project: toProject(project, roles) };
  });

  app.patch(
    '/projects/:projectId',
    { config: { access: access.project('researcher', 'admin'), changesKeptReads: true }, schema: { tags: ['projects'], params: ProjectParamsSchema, body: UpdateProjectRequestSchema, response: { 200: ProjectResponseSchema } } },
    async (req) => {
      const { roles } = await requireProject(req, req.params.projectId, ['researcher', 'admin']);
      const project = await app.prisma.project.update({ where: { id: req.params.projectId }, data: req.body });
      return { project: toProject(project, roles) };
    },
  );
};

export default projectRoutes;
