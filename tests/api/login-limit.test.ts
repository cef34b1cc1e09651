import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PASSWORD, useHarness, type Response } from './harness.ts';

// A short window, so that "after the window" is a real wait of a few seconds.
const WINDOW_MS = 3000;
const h = useHarness('login_limit', { loginLimit: { windowMs: WINDOW_MS, perAccount: 3, perAddress: 5 } });

/** POST /v1/auth/login over app.inject from a given client address (and, optionally, through a proxy). */
function login(email: string, password: string, from: { remoteAddress?: string; forwardedFor?: string } = {}): Promise<Response> {
  return h.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    remoteAddress: from.remoteAddress ?? '192.0.2.1',
    headers: from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {},
    payload: { email, password },
  });
}

function retryAfter(res: Response): number {
  const value = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(value) && value >= 1 && value <= WINDOW_MS / 1000, `Retry-After ${res.headers['retry-after']}`);
  return value;
}

test('failed logins of one account are limited: 429 with Retry-After, even for the right password; after the window it works', async () => {
  const alice = await h.person('Alice');
  const bob = await h.person('Bob');
  const from = { remoteAddress: '192.0.2.10' };
  // the account name counts as the login reads it: another case is not another account
  for (const email of [alice.email, alice.email.toUpperCase(), alice.email.replace(/^./, (c) => c.toUpperCase())]) assert.equal((await login(email, 'wrong', from)).statusCode, 401);

  const limited = await login(alice.email, PASSWORD, from);
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.code, 'too_many_failed_logins');
  assert.equal(limited.json().error.field, 'email');
  assert.match(limited.json().error.message, /too many failed logins for this account \(3 in 3 seconds\); try again in \d+ seconds/);
  const wait = retryAfter(limited);

  // another account, even from the same address, is not affected
  assert.equal((await login(bob.email, PASSWORD, from)).statusCode, 200);
  // a limited attempt is not a failure: it does not push the wait further out
  assert.equal(await h.prisma.loginFailure.count({ where: { email: alice.email } }), 3);

  await sleep(wait * 1000);
  assert.equal((await login(alice.email, PASSWORD, from)).statusCode, 200);
  // a success clears the account's failures
  assert.equal(await h.prisma.loginFailure.count({ where: { email: alice.email } }), 0);
});

test('failed logins from one address are limited across account names; other addresses are not', async () => {
  const carol = await h.person('Carol');
  const from = { remoteAddress: '192.0.2.20' };
  for (let i = 0; i < 5; i++) assert.equal((await login(`nobody-${i}@test.local`, 'guess', from)).statusCode, 401);

  const limited = await login(carol.email, PASSWORD, from);
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error.field, undefined);
  assert.match(limited.json().error.message, /too many failed logins from your address \(5 in 3 seconds\)/);
  retryAfter(limited);

  assert.equal((await login(carol.email, PASSWORD, { remoteAddress: '192.0.2.21' })).statusCode, 200);
});

test('behind a proxy on this machine the address is the one X-Forwarded-For names; from elsewhere that header is ignored', async () => {
  const dave = await h.person('Dave');
  const viaWeb = (client: string) => ({ remoteAddress: '127.0.0.1', forwardedFor: client });
  for (let i = 0; i < 5; i++) assert.equal((await login(`ghost-${i}@test.local`, 'guess', viaWeb('198.51.100.7'))).statusCode, 401);
  assert.equal((await login(dave.email, PASSWORD, viaWeb('198.51.100.7'))).statusCode, 429);
  // the web app's other users are not locked out with them
  assert.equal((await login(dave.email, PASSWORD, viaWeb('198.51.100.8'))).statusCode, 200);
  // a client that is no proxy of ours cannot pick its address by sending the header
  assert.equal(await h.prisma.loginFailure.count({ where: { ip: '198.51.100.9' } }), 0);
  await login('ghost@test.local', 'guess', { remoteAddress: '192.0.2.30', forwardedFor: '198.51.100.9' });
  assert.equal(await h.prisma.loginFailure.count({ where: { ip: '198.51.100.9' } }), 0);
  assert.equal(await h.prisma.loginFailure.count({ where: { ip: '192.0.2.30' } }), 1);
});
