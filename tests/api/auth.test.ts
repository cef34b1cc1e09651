import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, PASSWORD, useHarness } from './harness.ts';
import { ensureAdmin } from '../../apps/api/src/services/admin.ts';

const h = useHarness('auth');

function sessionCookie(res: { headers: Record<string, unknown> }): string {
  const raw = ([] as string[]).concat(res.headers['set-cookie'] as string | string[]);
  const cookie = raw.find((c) => c.startsWith('jielong_session='));
  assert.ok(cookie, 'login sets the session cookie');
  assert.match(cookie, /HttpOnly/i);
  return cookie.split(';')[0];
}

test('login sets an httpOnly session cookie that /me accepts; logout ends it', async () => {
  const alice = await h.person('Alice', ['annotator']);
  const wrong = await h.call(null, 'POST', '/v1/auth/login', { email: alice.email, password: 'nope' });
  assert.equal(wrong.statusCode, 401);
  const unknown = await h.call(null, 'POST', '/v1/auth/login', { email: 'ghost@test.local', password: 'nope' });
  assert.equal(unknown.statusCode, 401);

  const login = await h.call(null, 'POST', '/v1/auth/login', { email: alice.email.toUpperCase(), password: PASSWORD });
  assert.equal(login.statusCode, 200);
  assert.equal(login.json().user.email, alice.email);
  const cookie = sessionCookie(login);
  // the cookie value itself is never stored, only its hash
  assert.equal(await h.prisma.session.count({ where: { tokenHash: cookie.split('=')[1] } }), 0);

  const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } });
  assert.equal(me.statusCode, 200);
  assert.deepEqual(me.json().user.roles, ['annotator']);
  assert.deepEqual(me.json().memberships, []);

  assert.equal((await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie } })).statusCode, 200);
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } })).statusCode, 401);
});

test('login validation names the field', async () => {
  const res = await h.call(null, 'POST', '/v1/auth/login', { email: 'not-an-email', password: 'x' });
  assert.equal(res.statusCode, 400);
  assert.equal(fieldOf(res), 'email');
  const notJson = await h.call(null, 'POST', '/v1/auth/login', '{"email":', { 'content-type': 'application/json' });
  assert.equal(notJson.statusCode, 400);
  assert.equal(fieldOf(notJson), 'body');
});

test('anonymous requests are refused with 401', async () => {
  for (const url of ['/v1/me', '/v1/projects', '/v1/users', '/v1/me/tokens']) {
    const res = await h.call(null, 'GET', url);
    assert.equal(res.statusCode, 401, url);
    assert.equal(res.json().error.code, 'unauthenticated');
  }
});

test('me: locale preference and display name; bad locale is a 400 on locale', async () => {
  const bob = await h.person('Bob');
  const res = await h.call(bob, 'PATCH', '/v1/me', { locale: 'zh', displayName: 'Bob Z' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().user.locale, 'zh');
  assert.equal((await h.call(bob, 'GET', '/v1/me')).json().user.displayName, 'Bob Z');
  const bad = await h.call(bob, 'PATCH', '/v1/me', { locale: 'klingon' });
  assert.equal(bad.statusCode, 400);
  assert.equal(fieldOf(bad), 'locale');
});

test('me: changing the password needs the current one', async () => {
  const carol = await h.person('Carol');
  const wrong = await h.call(carol, 'POST', '/v1/me/password', { currentPassword: 'wrong', newPassword: 'a new password' });
  assert.equal(wrong.statusCode, 400);
  assert.equal(fieldOf(wrong), 'currentPassword');
  const short = await h.call(carol, 'POST', '/v1/me/password', { currentPassword: PASSWORD, newPassword: 'short' });
  assert.equal(fieldOf(short), 'newPassword');
  assert.equal((await h.call(carol, 'POST', '/v1/me/password', { currentPassword: PASSWORD, newPassword: 'a new password' })).statusCode, 200);
  assert.equal((await h.call(null, 'POST', '/v1/auth/login', { email: carol.email, password: 'a new password' })).statusCode, 200);
});

test('API tokens: created once with the secret, used as Bearer, listed without it, revoked', async () => {
  const res = await h.person('Researcher', ['researcher']);
  const created = await h.call(res, 'POST', '/v1/me/tokens', { name: 'training script' });
  assert.equal(created.statusCode, 201);
  const { token, secret } = created.json();
  assert.ok(secret.startsWith(token.prefix));

  const asScript = { authorization: `Bearer ${secret}` };
  const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: asScript });
  assert.equal(me.json().user.id, res.id);

  const list = (await h.call(res, 'GET', '/v1/me/tokens')).json().items;
  assert.ok(list.some((t: { id: string }) => t.id === token.id));
  assert.ok(!JSON.stringify(list).includes(secret), 'the secret is shown only once');
  assert.ok(list.find((t: { id: string }) => t.id === token.id).lastUsedAt, 'use is recorded');

  // someone else cannot revoke it
  const other = await h.person('Other');
  assert.equal((await h.call(other, 'DELETE', `/v1/me/tokens/${token.id}`)).statusCode, 404);
  assert.equal((await h.call(res, 'DELETE', `/v1/me/tokens/${token.id}`)).statusCode, 200);
  const after = await h.app.inject({ method: 'GET', url: '/v1/me', headers: asScript });
  assert.equal(after.statusCode, 401);
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer jl_made_up' } })).statusCode, 401);

  const noName = await h.call(res, 'POST', '/v1/me/tokens', { name: '' });
  assert.equal(fieldOf(noName), 'name');
});

test('token creation with an Idempotency-Key is replayed, not repeated', async () => {
  const dan = await h.person('Dan');
  const key = { 'idempotency-key': 'token-1' };
  const first = await h.call(dan, 'POST', '/v1/me/tokens', { name: 'ci' }, key);
  const second = await h.call(dan, 'POST', '/v1/me/tokens', { name: 'ci' }, key);
  assert.equal(first.statusCode, 201);
  assert.equal(second.statusCode, 201);
  assert.deepEqual(second.json(), first.json());
  assert.equal(await h.prisma.apiToken.count({ where: { userId: dan.id, name: 'ci' } }), 1);
  const different = await h.call(dan, 'POST', '/v1/me/tokens', { name: 'other' }, key);
  assert.equal(different.statusCode, 422);
});

test('users: only admins list, create and change users', async () => {
  const admin = await h.person('Admin', ['admin']);
  const researcher = await h.person('Res', ['researcher']);
  const body = { email: 'New.Person@Test.local', displayName: 'New', password: 'long enough pw', roles: ['rater'] };

  assert.equal((await h.call(researcher, 'POST', '/v1/users', body)).statusCode, 403);
  assert.equal((await h.call(researcher, 'GET', '/v1/users')).statusCode, 403);

  const created = await h.call(admin, 'POST', '/v1/users', body, { 'idempotency-key': 'new-person' });
  assert.equal(created.statusCode, 201);
  assert.equal(created.json().user.email, 'new.person@test.local');
  const retry = await h.call(admin, 'POST', '/v1/users', body, { 'idempotency-key': 'new-person' });
  assert.equal(retry.statusCode, 201);
  assert.equal(await h.prisma.user.count({ where: { email: 'new.person@test.local' } }), 1);

  const dup = await h.call(admin, 'POST', '/v1/users', body);
  assert.equal(dup.statusCode, 409);
  assert.equal(fieldOf(dup), 'email');
  const badRole = await h.call(admin, 'POST', '/v1/users', { ...body, email: 'x@test.local', roles: ['king'] });
  assert.equal(badRole.statusCode, 400);
  assert.equal(fieldOf(badRole), 'roles.0');

  const id = created.json().user.id;
  assert.equal((await h.call(researcher, 'PATCH', `/v1/users/${id}`, { roles: ['admin'] })).statusCode, 403);
  assert.equal(fieldOf(await h.call(admin, 'PATCH', `/v1/users/${id}`, { password: 'short' })), 'password');
  const patched = await h.call(admin, 'PATCH', `/v1/users/${id}`, { roles: ['rater', 'annotator'] });
  assert.deepEqual(patched.json().user.roles, ['rater', 'annotator']);
  assert.equal((await h.call(admin, 'PATCH', `/v1/users/00000000-0000-4000-8000-000000000000`, { roles: [] })).statusCode, 404);
  const badId = await h.call(admin, 'PATCH', `/v1/users/nope`, { roles: [] });
  assert.equal(badId.statusCode, 400);
  assert.equal(fieldOf(badId), 'id');

  const list = await h.call(admin, 'GET', '/v1/users?q=new.person');
  assert.equal(list.json().total, 1);
});

test('ensureAdmin creates the first admin once, generating a password when none is set', async () => {
  const first = await ensureAdmin(h.prisma, 'Boss@Jielong.local', undefined);
  assert.equal(first.created, true);
  assert.ok(first.generatedPassword && first.generatedPassword.length >= 16);
  const again = await ensureAdmin(h.prisma, 'boss@jielong.local', undefined);
  assert.deepEqual(again, { created: false });
  const login = await h.call(null, 'POST', '/v1/auth/login', { email: 'boss@jielong.local', password: first.generatedPassword });
  assert.equal(login.statusCode, 200);
  assert.ok(login.json().user.roles.includes('admin'));
});

test('OpenAPI JSON and the docs page are served', async () => {
  const spec = await h.call(null, 'GET', '/docs/json');
  assert.equal(spec.statusCode, 200);
  const paths = spec.json().paths;
  assert.ok(paths['/v1/projects/{projectId}/rating-task']);
  assert.ok(paths['/v1/comparisons/{id}/rankings'].post.requestBody);
  const page = await h.call(null, 'GET', '/docs/');
  assert.equal(page.statusCode, 200);
  assert.match(page.headers['content-type'] as string, /html/);
});

test('unknown routes are JSON 404s', async () => {
  const res = await h.call(null, 'GET', '/v1/nothing-here');
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error.code, 'not_found');
});
