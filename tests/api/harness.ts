// Shared set-up for the API tests: a fresh migrated database, the real app (app.inject), and
// people with roles, each holding a bearer token (created directly: faster than logging in).
import { after, before } from 'node:test';
import type { Role } from '@jielong/shared';
import { buildApp, type App, type BuildAppOptions } from '@jielong/api';
import { startJobQueue, startProcessLease, type JobQueue, type PrismaClient, type ProcessLease } from '@jielong/db';
import { createTestDatabase } from '../helpers/db.ts';
import { hashPassword, newSecret, sha256 } from '../../apps/api/src/secrets.ts';

export const PASSWORD = 'correct horse battery';

export interface Person {
  id: string;
  email: string;
  token: string;
  /** headers that authenticate as this person */
  auth: { authorization: string };
}

export interface Harness {
  app: App;
  prisma: PrismaClient;
  url: string;
  person(name: string, roles?: Role[]): Promise<Person>;
  /** app.inject as `who` (null: anonymous); `payload` may be an object (JSON) or a string */
  call(who: Person | null, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** a project created by `owner` (a researcher), with the given members added */
  project(owner: Person, members?: [Person, Role[]][], settings?: Record<string, unknown>): Promise<string>;
}

export type Response = Awaited<ReturnType<App['inject']>>;

/** The error body's field, for asserting that a 4xx names what was wrong. */
export function fieldOf(res: Response): string | undefined {
  return res.json().error?.field;
}

let passwordHash: Promise<string> | undefined;

/**
 * Registers before/after hooks for the calling test file and returns the harness (ready inside
 * tests). With `queue`, the app gets a real pg-boss queue (jobs are created; no worker runs them).
 */
export function useHarness(prefix: string, opts: Partial<BuildAppOptions> = {}, { queue = false } = {}): Harness {
  const h = {} as Harness;
  let drop: () => Promise<void>;
  let jobQueue: JobQueue | undefined;
  let lease: ProcessLease | undefined;
  before(async () => {
    const db = await createTestDatabase(`api_${prefix}`);
    drop = db.drop;
    h.prisma = db.prisma;
    h.url = db.url;
    if (queue) jobQueue = await startJobQueue(db.url);
    lease = await startProcessLease(db.url);
    h.app = await buildApp({ prisma: db.prisma, jobQueue, lease, ...opts });
    await h.app.ready();
  });
  after(async () => {
    await h.app?.close();
    await jobQueue?.stop({ graceful: false });
    await lease?.stop();
    await drop?.();
  });
  h.person = async (name, roles = []) => {
    passwordHash ??= hashPassword(PASSWORD);
    const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@test.local`;
    const user = await h.prisma.user.create({ data: { email, displayName: name, roles, passwordHash: await passwordHash } });
    const token = newSecret('jl_');
    await h.prisma.apiToken.create({ data: { userId: user.id, name: 'test', prefix: token.slice(0, 9), tokenHash: sha256(token) } });
    return { id: user.id, email, token, auth: { authorization: `Bearer ${token}` } };
  };
  h.call = (who, method, url, payload, headers = {}) =>
    h.app.inject({
      method,
      url,
      headers: { ...(who ? who.auth : {}), ...headers },
      ...(payload === undefined ? {} : { payload: payload as string | object }),
    });
  h.project = async (owner, members = [], settings = {}) => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/projects', headers: owner.auth, payload: { name: 'P', ...settings } });
    if (res.statusCode !== 201) throw new Error(`project: ${res.statusCode} ${res.body}`);
    const projectId = res.json().project.id as string;
    for (const [person, roles] of members) await h.prisma.projectMember.create({ data: { projectId, userId: person.id, roles } });
    return projectId;
  };
  return h;
}
