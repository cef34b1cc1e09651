// The credentials the API keeps in memory (plugins/auth.ts): asked of the database once, then
// forgotten whenever any writer changes a session, a token or a user, and never kept while the
// process's lease connection, which listens for those changes, is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PASSWORD, useHarness, type Person } from './harness.ts';

const h = useHarness('kept_credentials');

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
