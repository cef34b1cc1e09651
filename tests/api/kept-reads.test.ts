// What the API keeps in memory (kept-reads.ts): credentials (plugins/auth.ts) and what a submission
// is checked against (services/rating.ts), asked of the database once, then forgotten whenever
// any writer changes them, and never kept while the process's lease connection, which listens for
// those changes, is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { fieldOf, PASSWORD, useHarness, type Person } from './harness.ts';

const h = useHarness('kept_reads');

async function withSql<T>(run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: h.url });
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

const me = (who: Person | { cookie: string }) => h.app.inject({ method: 'GET', url: '/v1/me', headers: 'auth' in who ? who.auth : { cookie: who.cookie } });

/** the status GET /me answers once it differs from `from`, asking again for up to 5 s */
async function statusAfterChange(who: Person | { cookie: string }, from: number): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const { statusCode } = await me(who);
    if (statusCode !== from || Date.now() > deadline) return statusCode;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a token is read from the database once, then kept: its next request needs no read of ApiToken', async () => {
  const kept = await h.person('Kept');
  const fresh = await h.person('Fresh');
  assert.equal((await me(kept)).statusCode, 200);
  await withSql(async (c) => {
    await c.query('BEGIN');
    await c.query('LOCK TABLE "ApiToken" IN ACCESS EXCLUSIVE MODE');
    try {
      const waiting = me(fresh);
      assert.equal((await me(kept)).statusCode, 200, 'the kept token answers while ApiToken is locked');
      const early = await Promise.race([waiting.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
      assert.equal(early, 'waiting', 'a token never seen is read, and waits for the lock');
      await c.query('COMMIT');
      assert.equal((await waiting).statusCode, 200);
    } finally {
      await c.query('ROLLBACK').catch(() => {});
    }
  });
});

test('a change by another writer (plain SQL) is heard: revoked token, deleted session, changed roles', async () => {
  const alice = await h.person('Alice', ['researcher']);
  assert.deepEqual((await me(alice)).json().user.roles, ['researcher']);
  await withSql((c) => c.query(`UPDATE "User" SET roles = '{annotator}' WHERE id = $1`, [alice.id]));
  const deadline = Date.now() + 5000;
  let roles: string[] = [];
  while (Date.now() < deadline && (roles = (await me(alice)).json().user.roles)[0] !== 'annotator') await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(roles, ['annotator'], 'the new roles, not the kept ones');

  await withSql((c) => c.query(`UPDATE "ApiToken" SET "revokedAt" = now() WHERE "userId" = $1`, [alice.id]));
  assert.equal(await statusAfterChange(alice, 200), 401, 'the revoked token is refused');

  const bob = await h.person('Bob');
  const login = await h.call(null, 'POST', '/v1/auth/login', { email: bob.email, password: PASSWORD });
  const cookie = ([] as string[]).concat(login.headers['set-cookie'] as string[]).find((c) => c.startsWith('jielong_session='))!.split(';')[0];
  assert.equal((await me({ cookie })).statusCode, 200);
  await withSql((c) => c.query(`DELETE FROM "Session" WHERE "userId" = $1`, [bob.id]));
  assert.equal(await statusAfterChange({ cookie }, 200), 401, 'the deleted session is refused');
});

/** a project of one rater, with `n` comparisons of two answers */
async function ratingProject(n: number, settings: Record<string, unknown> = {}) {
  const researcher = await h.person('Researcher', ['researcher']);
  const rater = await h.person('Rater');
  const projectId = await h.project(researcher, [[rater, ['rater']]], { ratersPerComparison: 1, goldRate: 0, ...settings });
  for (let i = 0; i < n; i++) {
    const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: `p${i}`, answers: [{ text: `a${i}` }, { text: `b${i}` }] });
    assert.equal(res.statusCode, 201, res.body);
  }
  return { researcher, rater, projectId };
}

async function handOut(rater: Person, projectId: string): Promise<{ comparisonId: string; order: string[][] }> {
  const res = await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
  assert.equal(res.statusCode, 200, res.body);
  const task = res.json().task;
  return { comparisonId: task.comparisonId, order: task.answers.map((a: { id: string }) => [a.id]) };
}

const submit = (rater: Person, task: { comparisonId: string; order: string[][] }, extra: Record<string, unknown> = {}) =>
  h.call(rater, 'POST', `/v1/comparisons/${task.comparisonId}/rankings`, { order: task.order, timeSpentMs: 1000, ...extra });

test('a submission reads nothing before its call once its task was handed out and the rater has ranked in the project', async () => {
  const { rater, projectId } = await ratingProject(3);
  // twice: a notification of the set-up arriving during the first read leaves it unkept
  for (let i = 0; i < 2; i++) assert.equal((await submit(rater, await handOut(rater, projectId))).statusCode, 201);
  const third = await handOut(rater, projectId);
  await withSql(async (c) => {
    await c.query('BEGIN');
    // what only the check before the call reads (a submission without ratings writes no AnswerRating)
    await c.query('LOCK TABLE "Answer", "ProjectMember" IN ACCESS EXCLUSIVE MODE');
    try {
      const res = await Promise.race([submit(rater, third), new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      assert.ok(res, 'the submission answered while Answer and ProjectMember were locked');
      assert.equal(res.statusCode, 201, res.body);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});

test("a project's scales and a rater's membership changed through the API or by plain SQL apply to the next submission", async () => {
  const { researcher, rater, projectId } = await ratingProject(4);
  assert.equal((await submit(rater, await handOut(rater, projectId))).statusCode, 201);

  // through the API: answered only after the kept reads were forgotten
  const scale = { key: 'quality', label: 'Quality', required: true };
  assert.equal((await h.call(researcher, 'PATCH', `/v1/projects/${projectId}`, { ratingScales: [scale] })).statusCode, 200);
  const task = await handOut(rater, projectId);
  const unscored = await submit(rater, task);
  assert.equal(unscored.statusCode, 400, 'the new required scale is asked for at once');
  assert.match(fieldOf(unscored) ?? '', /^ratings\..+\.scores\.quality$/);

  // by plain SQL: heard by notification
  await withSql((c) => c.query(`UPDATE "Project" SET "ratingScales" = '[]' WHERE id = $1`, [projectId]));
  const deadline = Date.now() + 5000;
  let res = await submit(rater, task);
  while (res.statusCode === 400 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    res = await submit(rater, task);
  }
  assert.equal(res.statusCode, 201, res.body);

  const next = await handOut(rater, projectId);
  await withSql((c) => c.query(`DELETE FROM "ProjectMember" WHERE "projectId" = $1 AND "userId" = $2`, [projectId, rater.id]));
  const until = Date.now() + 5000;
  let refused = await submit(rater, next);
  while (refused.statusCode === 201 && Date.now() < until) refused = await submit(rater, next);
  assert.equal(refused.statusCode, 403, 'a rater no longer a member is refused');
});

// last: the lease connection it ends takes half a second to come back, and until then nothing is kept
test('while the lease connection is down a change cannot be heard, so nothing kept is trusted', async () => {
  const carol = await h.person('Carol');
  assert.equal((await me(carol)).statusCode, 200);
  await withSql(async (c) => {
    const { rows } = await c.query(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = 'jielong-lease' AND datname = current_database()`,
    );
    assert.ok(rows.length >= 1 && rows.every((r) => r.ended), 'the lease connection was ended');
    // revoked while no one listens: the notification goes nowhere
    await c.query(`UPDATE "ApiToken" SET "revokedAt" = now() WHERE "userId" = $1`, [carol.id]);
  });
  assert.equal(await statusAfterChange(carol, 200), 401, 'the revoked token is refused, not answered from memory');
});
