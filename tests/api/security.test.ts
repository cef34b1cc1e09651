// CSRF, security headers and the session cookie, and what a password change revokes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_COOKIE } from '@jielong/shared';
import { PASSWORD, useHarness, type Person } from './harness.ts';

const h = useHarness('security', { trustProxy: 'loopback' });

/** Logs in through the API and returns the session cookie header. */
async function sessionOf(person: Person, headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string }> {
  const res = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: person.email, password: PASSWORD }, headers });
  assert.equal(res.statusCode, 200, res.body);
  const setCookie = String(res.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0], setCookie };
}

test('a cookie-authenticated write from another site is refused; the studio, scripts with tokens and reads are not', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  const { cookie } = await sessionOf(researcher);
  const importUrl = `/v1/projects/${projectId}/prompts/import`;
  const plain = (headers: Record<string, string>) =>
    h.app.inject({ method: 'POST', url: importUrl, payload: '{"prompt":"forged"}', headers: { cookie, 'content-type': 'text/plain', ...headers } });

  const forged: Record<string, string>[] = [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: 'http://localhost:4000' }];
  for (const headers of forged) {
    const res = await plain(headers);
    assert.equal(res.statusCode, 403, JSON.stringify(headers));
    assert.equal(res.json().error.code, 'cross_site');
    assert.equal(res.json().error.field, 'origin');
  }
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0);

  // the studio's own page (through the web app's proxy, which sends X-Forwarded-Host)
  assert.equal((await plain({ 'sec-fetch-site': 'same-origin' })).statusCode, 200);
  assert.equal((await plain({ origin: 'http://localhost:3000', 'x-forwarded-host': 'localhost:3000' })).statusCode, 200);
  // a bearer token is not sent by a browser on its own: no origin check
  const scripted = await h.app.inject({ method: 'POST', url: importUrl, payload: '{"prompt":"scripted"}', headers: { ...researcher.auth, 'content-type': 'text/plain', origin: 'http://evil.example' } });
  assert.equal(scripted.statusCode, 200);
  // reading is not changing
  const read = await h.app.inject({ method: 'GET', url: `/v1/projects/${projectId}/prompts`, headers: { cookie, 'sec-fetch-site': 'cross-site' } });
  assert.equal(read.statusCode, 200);
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 2);

  // a bodyless POST (cancel) is a write too
  const cancel = await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, origin: 'http://evil.example' } });
  assert.equal(cancel.statusCode, 403);
});

test('security headers on every answer, no-store on authenticated ones, a Secure cookie behind HTTPS', async () => {
  const person = await h.person('Hdr');
  const anonymous = await h.app.inject({ method: 'GET', url: '/v1/auth/me' });
  assert.equal(anonymous.headers['x-content-type-options'], 'nosniff');
  assert.ok(anonymous.headers['x-frame-options']);
  assert.ok(anonymous.headers['referrer-policy']);
  const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: person.auth });
  assert.equal(me.statusCode, 200);
  assert.equal(me.headers['cache-control'], 'no-store');

  const plainHttp = await sessionOf(person);
  assert.doesNotMatch(plainHttp.setCookie, /Secure/i);
  // X-Forwarded-Proto counts only from a trusted proxy (loopback here: inject comes from 127.0.0.1)
  const https = await sessionOf(person, { 'x-forwarded-proto': 'https' });
  assert.match(https.setCookie, /;\s*Secure/i);
  assert.match(https.setCookie, new RegExp(`^${SESSION_COOKIE}=`));
});

test("an admin's reset ends the user's sessions and revokes their tokens; a user's own change keeps only this session", async () => {
  const admin = await h.person('Admin', ['admin']);
  const user = await h.person('User');
  await sessionOf(user);
  const reset = await h.call(admin, 'PATCH', `/v1/users/${user.id}`, { password: 'a-new-password-1' });
  assert.equal(reset.statusCode, 200, reset.body);
  assert.equal(reset.json().revokedTokens, 1);
  assert.equal(reset.json().endedSessions, 1);
  assert.equal((await h.call(user, 'GET', '/v1/me')).statusCode, 401);

  const self = await h.person('Self');
  const here = await sessionOf(self);
  const elsewhere = await sessionOf(self);
  const change = await h.app.inject({ method: 'POST', url: '/v1/me/password', headers: { cookie: here.cookie }, payload: { currentPassword: PASSWORD, newPassword: 'another-password-2' } });
  assert.equal(change.statusCode, 200, change.body);
  assert.deepEqual(change.json(), { ok: true, endedSessions: 1, revokedTokens: 1 });
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: here.cookie } })).statusCode, 200);
  assert.equal((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: elsewhere.cookie } })).statusCode, 401);
  assert.equal((await h.call(self, 'GET', '/v1/me')).statusCode, 401);
});
