// Issue 10: property-based requests over every route of the running app (its route table and
// OpenAPI document): schema-valid bodies with one part replaced by something hostile (NUL, lone
// surrogates, huge and deeply nested values, wrong types), wrong bodies as a whole, wrong content
// types, hostile path and query values. No request may get a 5xx, and a refused one (4xx) must
// store nothing. Fixed seed and bounded runs keep it well under a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { useHarness } from './harness.ts';
import { minimalValue, type JsonSchema } from '../helpers/openapi-sample.ts';

const h = useHarness('fuzz', {}, { queue: true });

type Operation = { requestBody?: { content: Record<string, { schema: JsonSchema }> }; parameters?: { in: string; name: string; schema: JsonSchema }[] };

function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '\udc00\ud800', '', ' ', '\u202e', '../../etc/passwd', "' OR 1=1 --"),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant('字'.repeat(120_000)),
  fc.integer(),
  fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom([], {}, ['\u0000'], { '\u0000': 1 }, { __proto__: { polluted: true } }, { constructor: { prototype: { polluted: true } } }),
  fc.constant(nested(3000)),
  fc.array(fc.string({ unit: 'binary', maxLength: 5 }), { maxLength: 3000 }),
);

/** Every path into a value (objects and arrays), for replacing one part of it. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function replaced(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]] = replaced(copy[path[0]], path.slice(1), value);
  return copy;
}

/** Percent-encodes even what encodeURIComponent refuses (a lone surrogate becomes invalid UTF-8). */
function encode(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined';
  return [...s].map((ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      return '%ED%A0%80';
    }
  }).join('');
}

const JSONL = 'application/x-ndjson';

test('hostile requests on every route: never a 5xx, and a refused request stores nothing', async () => {
  const admin = await h.person('Admin', ['admin']);
  const projectId = await h.project(admin);
  const prompt = await h.prisma.prompt.create({ data: { projectId, text: 'p', textHash: randomUUID(), source: 'written' } });
  const comparison = await h.prisma.comparison.create({ data: { projectId, promptId: prompt.id, requiredRankings: 3, answers: { create: [{ position: 0, text: 'a' }, { position: 1, text: 'b' }] } } });
  const demonstration = await h.prisma.demonstration.create({ data: { projectId, promptId: prompt.id, authorId: admin.id, answer: 'd' } });
  const job = await h.prisma.trainingJob.create({ data: { projectId, kind: 'sft', hyperparams: {}, inputModelIds: [] } });
  const model = await h.prisma.model.create({ data: { projectId, name: 'm', kind: 'sft', artifactPath: 'models/x' } });
  // another user for the user and member routes: an admin setting the caller's own password would end its token
  const other = await h.person('Other', ['rater']);
  await h.prisma.projectMember.create({ data: { projectId, userId: other.id, roles: ['rater'] } });
  const ids: Record<string, string> = { projectId, comparisons: comparison.id, demonstrations: demonstration.id, jobs: job.id, models: model.id, prompts: prompt.id, users: other.id, userId: other.id, tokens: randomUUID() };

  // every table but the login failures, which a refused login is meant to record
  const tables = (await h.prisma.$queryRaw<{ name: string }[]>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('_prisma_migrations', 'LoginFailure')`).map((t) => t.name);
  const countSql = `SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}")::int AS "${t}"`).join(', ')}`;
  const counts = async () => (await h.prisma.$queryRawUnsafe<Record<string, number>[]>(countSql))[0];

  const spec = h.app.swagger() as { paths: Record<string, Record<string, Operation>> };
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' });

  const routeArbitraries = h.app.routeAccess.map((route) => {
    const op = spec.paths[route.url.replace(/:(\w+)/g, '{$1}')][route.method.toLowerCase()];
    const pathParams = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]);
    const realId = (name: string) => (name === 'id' ? ids[route.url.split('/')[route.url.includes('/me/tokens') ? 3 : 2]] : ids[name] ?? String(minimalValue(op.parameters?.find((p) => p.name === name)?.schema)));
    const params = fc.tuple(...pathParams.map((name) => fc.oneof({ weight: 4, arbitrary: fc.constant(realId(name)) }, { weight: 1, arbitrary: hostile.map(encode) })));
    const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
    const query = fc.tuple(...queryParams.map((p) => fc.option(fc.oneof(fc.constant(encode(minimalValue(p.schema))), hostile.map(encode)), { nil: undefined })));
    const jsonSchema = op.requestBody?.content['application/json']?.schema;
    const isImport = route.url.endsWith('/import');
    const valid = isImport ? { text: 'a prompt', prompt: 'p', chosen: 'a', rejected: 'b' } : minimalValue(jsonSchema);
    // the schema's optional properties too: hostile values there must be refused as well
    const keys = [...new Set([...paths(valid).filter((p) => p.length > 0).map((p) => JSON.stringify(p)), ...Object.keys(jsonSchema?.properties ?? {}).map((k) => JSON.stringify([k]))])].map((p) => JSON.parse(p) as (string | number)[]);
    const body = fc.oneof(
      { weight: 6, arbitrary: keys.length ? fc.tuple(fc.constantFrom(...keys), hostile).map(([path, value]) => replaced(valid, path, value)) : hostile },
      { weight: 2, arbitrary: hostile },
      { weight: 1, arbitrary: fc.constant(valid) },
    );
    const contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constant(isImport ? JSONL : 'application/json') },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json', JSONL, 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded') },
    );
    const wantsBody = !['GET', 'DELETE'].includes(route.method);
    return fc.record({ params, query, body, contentType, garbage: fc.boolean() }).map(({ params: values, query: q, body: b, contentType: ct, garbage }) => {
      let i = 0;
      const path = route.url.replace(/:(\w+)/g, () => values[i++]);
      const search = queryParams.map((p, j) => (q[j] === undefined ? '' : `${p.name}=${q[j]}`)).filter(Boolean).join('&');
      // an import body: a line of the hostile object, maybe beside a line that is not JSON at all
      const payload = isImport ? [JSON.stringify(b), ...(garbage ? ['{"text": '] : [])].join('\n') : JSON.stringify(b);
      return { route: `${route.method} ${route.url}`, method: route.method, url: path + (search ? `?${search}` : ''), payload: wantsBody ? payload : undefined, contentType: ct };
    });
  });

  let runs = 0;
  const statuses = new Map<number, number>();
  const check = async (req: { route: string; method: string; url: string; payload?: string; contentType: string }) => {
    runs++;
    const before = await counts();
    const headers: Record<string, string> = { ...admin.auth, 'idempotency-key': randomUUID() };
    if (req.payload !== undefined) headers['content-type'] = req.contentType;
    const res = await fetch(base + req.url, { method: req.method, headers, body: req.payload });
    const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? (await res.body?.cancel(), '') : await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const what = `${res.status} ${text.slice(0, 300)} ← ${req.route} ${req.contentType} ${req.method} ${req.url.slice(0, 150)} ${req.payload?.slice(0, 150)}`;
    assert.ok(res.status < 500, what);
    if (res.status >= 400) {
      // Node itself refuses a request line or headers beyond its limit (431), before the API sees it
      if (res.status !== 431) assert.ok((JSON.parse(text) as { error?: { code?: string } }).error?.code, `no error code: ${what}`);
      assert.deepEqual(await counts(), before, `stored something: ${what}`);
    }
  };
  // first, every route once with each path part invalid UTF-8 (random runs reach it only now and then)
  for (const route of h.app.routeAccess.filter((r) => r.url.includes(':'))) {
    await check({ route: `${route.method} ${route.url}`, method: route.method, url: route.url.replace(/:(\w+)/g, encode('x\ud800y')), contentType: 'application/json', payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}' });
  }
  await fc.assert(fc.asyncProperty(fc.oneof(...routeArbitraries), check), { seed: 20261201, numRuns: 400, endOnFailure: true });
  console.log(`# ${runs} requests over ${routeArbitraries.length} routes; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
});
