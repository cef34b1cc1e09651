// Who may do what. Global admins, and project members holding the admin role, have every role
// in the project; anyone else has exactly the roles of their membership.
import type { FastifyRequest } from 'fastify';
import { ROLES, type Role } from '@jielong/shared';
import type { Db } from './db.ts';
import { forbidden, notFound, unauthenticated } from './errors.ts';
import type { AuthUser } from './types.ts';

export function requireUser(req: FastifyRequest): AuthUser {
  if (!req.user) throw unauthenticated();
  return req.user;
}

/** A global role check (creating projects and users); admins pass every check. */
export function requireGlobalRole(req: FastifyRequest, anyOf: Role[]): AuthUser {
  const user = requireUser(req);
  if (!user.roles.includes('admin') && !anyOf.some((r) => user.roles.includes(r))) {
    throw forbidden(`needs the ${anyOf.join(' or ')} role`);
  }
  return user;
}

/** The caller's roles in a project from their membership row (null: not a member). */
function rolesOf(user: AuthUser, member: { roles: Role[] } | undefined): Role[] | null {
  if (user.roles.includes('admin')) return [...ROLES];
  if (!member) return null;
  return member.roles.includes('admin') ? [...ROLES] : member.roles;
}

export async function effectiveProjectRoles(db: Db, user: AuthUser, projectId: string): Promise<Role[] | null> {
  if (user.roles.includes('admin')) return [...ROLES];
  const member = await db.projectMember.findUnique({ where: { projectId_userId: { projectId, userId: user.id } } });
  return rolesOf(user, member ?? undefined);
}

/** The caller's roles in a project, from their membership row as read (403 unless one of `anyOf`). */
export function checkRoles(user: AuthUser, member: { roles: Role[] } | undefined, anyOf?: Role[]): Role[] {
  const roles = rolesOf(user, member);
  if (!roles) throw forbidden('not a member of this project');
  if (anyOf && !anyOf.some((r) => roles.includes(r))) throw forbidden(`needs the ${anyOf.join(' or ')} role in this project`);
  return roles;
}

/**
 * The project (404 if unknown), checking the caller is a member (403) holding one of `anyOf` (403).
 * Every project-scoped route goes through here (the rating routes, on every rater's path, read
 * the same in their own statement and check it with checkRoles); the project and the caller's
 * membership come in one query.
 */
export async function requireProject(req: FastifyRequest, projectId: string, anyOf?: Role[]) {
  const user = requireUser(req);
  const found = await req.server.prisma.project.findUnique({ where: { id: projectId }, include: { members: { where: { userId: user.id }, select: { roles: true } } } });
  if (!found) throw notFound('project');
  const { members, ...project } = found;
  return { user, project, roles: checkRoles(user, members[0], anyOf) };
}

/**
 * Who may call a route, declared beside it (`config: { access }`) and checked by the generated
 * authorization matrix (tests/api/authorization.test.ts). The handler still enforces it (through
 * requireUser/requireGlobalRole/requireProject); an API route without a rule does not boot.
 */
export type AccessRule =
  | { kind: 'anyone' }
  | { kind: 'signed-in' }
  /** a global role; admins pass */
  | { kind: 'global'; roles: Role[] }
  /** a role in the project the route touches (no roles: any member); `orAuthor`: the resource's author passes too */
  | { kind: 'project'; roles: Role[]; orAuthor?: boolean }
  /** only the author of the resource (a demonstration) */
  | { kind: 'author' };

export const access = {
  anyone: { kind: 'anyone' },
  signedIn: { kind: 'signed-in' },
  global: (...roles: Role[]): AccessRule => ({ kind: 'global', roles }),
  project: (...roles: Role[]): AccessRule => ({ kind: 'project', roles }),
  projectOrAuthor: (...roles: Role[]): AccessRule => ({ kind: 'project', roles, orAuthor: true }),
  author: { kind: 'author' },
} satisfies Record<string, AccessRule | ((...roles: Role[]) => AccessRule)>;
