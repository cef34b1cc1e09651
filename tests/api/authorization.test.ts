// Issue 10: the authorization matrix, generated from the route table. Every API route declares
// who may call it (config.access, apps/api/src/access.ts; a route without one does not boot), and
// every route is called as anonymous, a global admin, each project role (reviewing demonstrations
// is the researcher's), and a member of another project: each call must be refused (401 for nobody, 403 for the wrong person) exactly when its
// rule says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '@jielong/shared';
import type { AccessRule } from '../../apps/api/src/access.ts';
import { useHarness, type Person } from './harness.ts';
import { minimalValue, type JsonSchema } from '../helpers/openapi-sample.ts';

const h = useHarness('authorization', {}, { queue: true });

interface Persona {
  name: string;
  person: Person | null;
  globalRoles: Role[];
  /** roles in the project the calls touch (null: not a member) */
  projectRoles: Role[] | null;
  /** the resources (URL segments: demonstrations, rankings) of which the caller wrote the one the calls touch */
  authorOf?: string[];
}

// Bodies the smallest schema-valid value would not give: a refinement beyond the JSON Schema, or a body that is not JSON.
const BODIES: Record<string, { payload: string | object; contentType?: string }> = {
  'POST /v1/comparisons/:id/rankings': { payload: { skipped: true, skipReason: 'unsure' } },
  'POST /v1/projects/:projectId/prompts': { payload: { text: 'a prompt' } },
  'POST /v1/projects/:projectId/playground/replies': { payload: { modelId: '00000000-0000-4000-8000-000000000000', turns: [{ role: 'user', content: 'hi' }] } },
  'POST /v1/projects/:projectId/demonstrations': { payload: { instruction: 'an instruction', answer: 'an answer' } },
  'POST /v1/projects/:projectId/comparisons': { payload: { prompt: 'a prompt', answers: [{ text: 'a' }, { text: 'b' }] } },
  'POST /v1/projects/:projectId/prompts/import': { payload: '{"text":"a prompt"}\n', contentType: 'application/x-ndjson' },
  'POST /v1/projects/:projectId/preferences/import': { payload: '{"prompt":"p","chosen":"a","rejected":"b"}\n', contentType: 'application/x-ndjson' },
};

function allowed(rule: AccessRule, p: Persona, url: string): boolean {
  const author = !!p.authorOf?.includes(url.split('/')[2]);
  if (rule.kind === 'anyone') return true;
  if (!p.person) return false;
  const admin = p.globalRoles.includes('admin');
  switch (rule.kind) {
    case 'signed-in':
      return true;
    case 'global':
      return admin || rule.roles.some((r) => p.globalRoles.includes(r));
    case 'author':
      return author;
    case 'project': {
      const roles = admin || p.projectRoles?.includes('admin') ? [...ROLES] : p.projectRoles;
      if (!roles) return false;
      return rule.roles.length === 0 || rule.roles.some((r) => roles.includes(r)) || (!!rule.orAuthor && author);
    }
  }
}

interface Answer {
  status: number;
  body: string;
}

/** Over real HTTP: an event stream (a job's events) answers with its headers and is then dropped. */
async function call(base: string, who: Person | null, method: string, url: string, body: { payload: string | object; contentType?: string } | undefined): Promise<Answer> {
  const headers: Record<string, string> = { ...(who?.auth ?? {}), 'idempotency-key': randomUUID() };
  if (body) headers['content-type'] = body.contentType ?? 'application/json';
  const res = await fetch(base + url, { method, headers, body: body === undefined ? undefined : typeof body.payload === 'string' ? body.payload : JSON.stringify(body.payload) });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: '' };
  }
  return { status: res.status, body: await res.text() };
}

/** Refused for who the caller is, as opposed to what the request says (a wrong password, a missing row). */
function refused(res: Answer): boolean {
  if (res.status !== 401 && res.status !== 403) return false;
  const code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  return (res.status === 401 && code === 'unauthenticated') || (res.status === 403 && code === 'forbidden');
}

let personas: Persona[];
let ids: Record<string, string>;

async function setUp() {
  const make = async (name: string, globalRoles: Role[]) => h.person(name, globalRoles);
  const owner = await make('Owner', ['researcher']);
  const projectId = await h.project(owner);
  const other = await h.project(owner);
  const member = async (name: string, role: Role): Promise<Persona> => {
    const person = await make(name, [role]);
    await h.prisma.projectMember.create({ data: { projectId, userId: person.id, roles: [role] } });
    return { name, person, globalRoles: [role], projectRoles: [role] };
  };
  const admin = await make('Admin', ['admin']);
  const outsider = await make('Outsider', ['researcher']);
  await h.prisma.projectMember.create({ data: { projectId: other, userId: outsider.id, roles: ['researcher', 'admin'] } });
  personas = [
    { name: 'anonymous', person: null, globalRoles: [], projectRoles: null },
    { name: 'global admin', person: admin, globalRoles: ['admin'], projectRoles: null },
    await member('project admin', 'admin'),
    await member('researcher', 'researcher'),
    await member('annotator', 'annotator'),
    await member('rater', 'rater'),
    { name: 'member of another project', person: outsider, globalRoles: ['researcher'], projectRoles: null },
  ];
  const annotator = personas.find((p) => p.name === 'annotator')!;
  annotator.authorOf = ['demonstrations'];
  const rater = personas.find((p) => p.name === 'rater')!;
  rater.authorOf = ['rankings'];
  const researcher = personas.find((p) => p.name === 'researcher')!;
  researcher.authorOf = ['playground'];

  const prompt = await h.prisma.prompt.create({ data: { projectId, text: 'p', textHash: randomUUID(), source: 'written' } });
  const comparison = await h.prisma.comparison.create({
    data: { projectId, promptId: prompt.id, requiredRankings: 9, answers: { create: [{ position: 0, text: 'a' }, { position: 1, text: 'b' }] } },
  });
  const demonstration = await h.prisma.demonstration.create({ data: { projectId, promptId: prompt.id, authorId: annotator.person!.id, answer: 'd' } });
  const ranking = await h.prisma.ranking.create({ data: { comparisonId: comparison.id, raterId: rater.person!.id, order: [], timeSpentMs: 1 } });
  const exclusion = await h.prisma.raterExclusion.create({ data: { projectId, raterId: rater.person!.id } });
  const reply = await h.prisma.playgroundReply.create({ data: { projectId, userId: researcher.person!.id, turns: [{ role: 'user', content: 'hi' }], sampling: {}, status: 'succeeded' } });
  const job = await h.prisma.trainingJob.create({ data: { projectId, kind: 'sft', hyperparams: {}, inputModelIds: [] } });
  const model = await h.prisma.model.create({ data: { projectId, name: 'm', kind: 'sft', artifactPath: 'models/x' } });
  const throwaway = await make('Throwaway', []);
  await h.prisma.projectMember.create({ data: { projectId, userId: throwaway.id, roles: ['rater'] } });
  ids = { projectId, comparisons: comparison.id, demonstrations: demonstration.id, rankings: ranking.id, 'rater-exclusions': exclusion.id, playground: reply.id, jobs: job.id, models: model.id, prompts: prompt.id, users: throwaway.id, tokens: randomUUID(), userId: throwaway.id };
}

test('every route refuses exactly whom its declared rule refuses', async () => {
  await setUp();
  const spec = h.app.swagger() as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> }; parameters?: { in: string; name: string; schema: JsonSchema }[] }>> };
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  const routes = h.app.routeAccess;
  assert.ok(routes.length >= 50, `${routes.length} routes`);
  const failures: string[] = [];
  let calls = 0;
  for (const route of routes) {
    const id = `${route.method} ${route.url}`;
    const op = spec.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
    assert.ok(op, `${id} is in the OpenAPI document`);
    const url = route.url.replace(/:(\w+)/g, (_m, name: string) => {
      if (name === 'id') return ids[route.url.split('/')[route.url.includes('/me/tokens') ? 3 : 2]];
      if (name in ids) return ids[name];
      return String(minimalValue(op.parameters?.find((p) => p.in === 'path' && p.name === name)?.schema));
    });
    const json = op.requestBody?.content['application/json']?.schema;
    const body = BODIES[id] ?? (json ? { payload: minimalValue(json) as object } : undefined);
    // those the rule refuses first: an allowed call may delete or change what the others touch
    const order = [...personas].sort((a, b) => Number(allowed(route.access, a, route.url)) - Number(allowed(route.access, b, route.url)));
    for (const p of order) {
      const res = await call(base, p.person, route.method, url, body);
      calls++;
      const expected = allowed(route.access, p, route.url);
      const wantStatus = p.person ? 403 : 401;
      if (expected && refused(res)) failures.push(`${id} as ${p.name}: refused (${res.status} ${res.body.slice(0, 120)}) but its rule allows`);
      if (!expected && !(refused(res) && res.status === wantStatus)) failures.push(`${id} as ${p.name}: ${res.status} ${res.body.slice(0, 120)}, but its rule refuses (${wantStatus})`);
    }
  }
  console.log(`# ${routes.length} routes × ${personas.length} callers = ${calls} calls`);
  assert.deepEqual(failures, []);
});

test('an API route that declares no access rule does not boot', async () => {
  const { default: Fastify } = await import('fastify');
  const { default: accessRules } = await import('../../apps/api/src/plugins/access-rules.ts');
  const app = Fastify();
  await app.register(accessRules);
  app.get('/v1/declared', { config: { access: { kind: 'signed-in' } } }, async () => ({}));
  assert.throws(() => app.get('/v1/forgotten', async () => ({})), /GET \/v1\/forgotten declares no access rule/);
  await app.close();
});
