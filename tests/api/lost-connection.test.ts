// Issue 10, item 5: a database connection terminated under the API (pg_terminate_backend, the same
// as a failover) never gives a 500. The API's pool holds one connection, so the broken one is the
// one the next request gets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildApp, type App } from '@jielong/api';
import { createPrismaClient, startProcessLease, type PrismaClient, type ProcessLease } from '@jielong/db';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { pool, seedRankingWork, submit, terminateBackends, type Outcome } from '../helpers/rankings.ts';

let db: TestDatabase;
let apiPrisma: PrismaClient;
let lease: ProcessLease;
let app: App;
let admin: pg.Client;
let base: string;

before(async () => {
  db = await createTestDatabase('api_lost_connection');
  apiPrisma = createPrismaClient(db.url, { max: 1 });
  lease = await startProcessLease(db.url);
  app = await buildApp({ prisma: apiPrisma, lease });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});
after(async () => {
  await app?.close();
  await lease?.stop();
  await apiPrisma?.$disconnect();
  await admin?.end();
  await db?.drop();
});

test('the request after a terminated connection is answered on a fresh one: reads, keyed writes, hand-outs', async () => {
  const { projectId, raters, submissions } = await seedRankingWork(db.prisma, 1, 2);
  const [rater] = raters;
  const get = () => fetch(`${base}/v1/projects/${projectId}`, { headers: rater.auth });
  assert.equal((await get()).status, 200);

  await terminateBackends(admin);
  assert.equal((await get()).status, 200);
  await terminateBackends(admin);
  const task = await fetch(`${base}/v1/projects/${projectId}/rating-task`, { method: 'POST', headers: rater.auth });
  assert.equal(task.status, 200);
  await terminateBackends(admin);
  const first = await submit(base, submissions[0]);
  assert.equal(first.status, 201, JSON.stringify(first.body));
  await terminateBackends(admin);
  const again = await submit(base, submissions[0]);
  assert.deepEqual([again.status, again.replayed, again.body], [201, true, first.body]);
});

test('connections terminated while requests are in flight: 2xx or 503 with Retry-After, never 500; keyed retries store each ranking once', async () => {
  const { projectId, raters, submissions } = await seedRankingWork(db.prisma, 3, 12);
  let killing = true;
  const killer = (async () => {
    while (killing) {
      await terminateBackends(admin);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  const reads: number[] = [];
  const firsts = await pool(submissions, 4, async (s, i) => {
    if (i % 3 === 0) {
      const res = await fetch(`${base}/v1/projects/${projectId}`, { headers: raters[0].auth });
      reads.push(res.status);
      if (res.status === 503) assert.ok(res.headers.get('retry-after'));
    }
    return submit(base, s);
  });
  killing = false;
  await killer;

  const statuses = (list: number[]) => [...new Set(list)].sort();
  for (const o of firsts) {
    assert.ok(o.status === 201 || o.status === 503, `status ${o.status}: ${JSON.stringify(o.body)}`);
    if (o.status === 503) assert.equal(o.retryAfter, '1');
  }
  assert.ok(reads.every((s) => s === 200 || s === 503), `reads answered ${statuses(reads)}`);
  // the killer really broke requests (else this test proves nothing)
  const broken = firsts.filter((o) => o.status === 503).length + reads.filter((s) => s === 503).length;
  console.log(`# ${submissions.length} submissions, ${reads.length} reads under termination: ${broken} answered 503`);

  const retries: Outcome[] = await pool(submissions, 4, (s) => submit(base, s));
  retries.forEach((r, i) => {
    assert.equal(r.status, 201, JSON.stringify(r.body));
    if (firsts[i].status === 201) assert.deepEqual([r.replayed, r.body], [true, firsts[i].body]);
  });
  assert.equal(await db.prisma.ranking.count({ where: { comparison: { projectId } } }), submissions.length);
});
