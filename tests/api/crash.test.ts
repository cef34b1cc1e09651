// Issue 10, item 4 and the crash tests: the API runs as a real process (apps/api/src/main.ts) while
// raters submit keyed rankings; it is killed with SIGKILL mid-way (or its database connections are
// terminated), restarted, and every submission is retried with its key. Every acknowledged
// ranking is stored once, and every retry gets the first answer at once (no 409 "in progress"
// left behind by the dead process).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { freePort } from '../helpers/ports.ts';
import { pool, seedRankingWork, submit, terminateBackends, type Outcome, type Submission } from '../helpers/rankings.ts';

let db: TestDatabase;
let dataDir: string;
let port: number;
let api: ChildProcess | undefined;
const base = () => `http://127.0.0.1:${port}`;

async function startApi(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
    env: { ...process.env, DATABASE_URL: db.url, API_PORT: String(port), JIELONG_DATA_DIR: dataDir, JIELONG_ADMIN_PASSWORD: 'crash-test-admin', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API did not start:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d;
      if (output.includes('[api] listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => reject(new Error(`the API exited (${code}):\n${output}`)));
  });
  return child;
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

before(async () => {
  db = await createTestDatabase('api_crash');
  dataDir = await mkdtemp(join(tmpdir(), 'jielong-crash-'));
  port = await freePort(0);
});
after(async () => {
  if (api && api.exitCode === null) await kill9(api);
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Retries every submission with its key and checks the answers against the first ones. */
async function retryAndCheck(projectId: string, submissions: Submission[], firsts: Outcome[]) {
  const started = Date.now();
  const retries = await pool(submissions, 6, (s) => submit(base(), s));
  retries.forEach((r, i) => {
    assert.equal(r.status, 201, `retry ${i}: ${r.status} ${JSON.stringify(r.body)} (first: ${firsts[i].status})`);
    if (firsts[i].status === 201) assert.deepEqual([r.replayed, r.body], [true, firsts[i].body], `retry ${i} got another answer`);
  });
  const stored = await db.prisma.ranking.findMany({ where: { comparison: { projectId } }, select: { id: true, comparisonId: true, raterId: true } });
  assert.equal(stored.length, submissions.length, 'one ranking per submission');
  const byPair = new Map(stored.map((r) => [`${r.comparisonId}:${r.raterId}`, r.id]));
  retries.forEach((r, i) => assert.equal((r.body as { ranking: { id: string } }).ranking.id, byPair.get(`${submissions[i].comparisonId}:${submissions[i].rater.id}`)));
  assert.equal(await db.prisma.idempotencyKey.count({ where: { statusCode: 0 } }), 0, 'no claim left in flight');
  return Date.now() - started;
}

test('SIGKILL mid-submissions: after a restart every retry gets its first answer, every ranking stored once', async () => {
  const { projectId, submissions } = await seedRankingWork(db.prisma, 3, 25);
  api = await startApi();
  const current = api;
  let acknowledged = 0;
  let killed: Promise<void> | undefined;
  const firsts = await pool(submissions, 8, async (s) => {
    const o = await submit(base(), s);
    if (o.status === 201 && ++acknowledged === 20) killed = kill9(current);
    return o;
  });
  await killed;
  const acked = firsts.filter((o) => o.status === 201).length;
  const lost = firsts.filter((o) => o.status === 0).length;
  assert.ok(acked >= 20 && lost > 0, `acknowledged ${acked}, unanswered ${lost}: the kill must land mid-way`);
  assert.ok(firsts.every((o) => o.status === 201 || o.status === 0), `statuses ${[...new Set(firsts.map((o) => o.status))]}`);
  // whatever the dead process was doing: committed with its answer, or not at all
  const inFlight = await db.prisma.idempotencyKey.count({ where: { statusCode: 0 } });

  api = await startApi();
  const ms = await retryAndCheck(projectId, submissions, firsts);
  console.log(`# ${acked} acknowledged, ${lost} unanswered at the kill (${inFlight} keys left in flight); ${submissions.length} retries in ${ms} ms`);
});

test('database connections terminated mid-submissions: 201 or 503 with Retry-After, then retries store each ranking once', async () => {
  const { projectId, submissions } = await seedRankingWork(db.prisma, 3, 20);
  api ??= await startApi();
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  let killing = true;
  const killer = (async () => {
    while (killing) {
      await new Promise((r) => setTimeout(r, 250));
      await terminateBackends(admin);
    }
  })();
  const firsts = await pool(submissions, 8, (s) => submit(base(), s));
  killing = false;
  await killer;
  await admin.end();
  for (const o of firsts) {
    assert.ok(o.status === 201 || (o.status === 503 && o.retryAfter === '1'), `status ${o.status} ${JSON.stringify(o.body)}`);
  }
  assert.ok(firsts.some((o) => o.status === 201), 'some submissions got through');
  const ms = await retryAndCheck(projectId, submissions, firsts);
  console.log(`# ${firsts.filter((o) => o.status === 201).length} of ${submissions.length} acknowledged under termination; retries in ${ms} ms`);
});
