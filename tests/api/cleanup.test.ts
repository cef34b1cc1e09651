import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '@jielong/api';
import { useHarness } from './harness.ts';

const h = useHarness('cleanup');

const HOUR = 3600_000;
const ago = (ms: number) => new Date(Date.now() - ms);

/** One row of each kind past its retention and one still within it; returns the ids of the fresh ones. */
async function seed(userId: string, tag: string) {
  const session = (name: string, expiresAt: Date) => h.prisma.session.create({ data: { tokenHash: `${tag}-${name}`, userId, expiresAt } });
  const key = (name: string, createdAt: Date) =>
    h.prisma.idempotencyKey.create({ data: { userId, key: `${tag}-${name}`, scope: 'POST /v1/projects', requestHash: 'x', statusCode: 201, responseBody: {}, createdAt } });
  const failure = (name: string, createdAt: Date) => h.prisma.loginFailure.create({ data: { email: `${tag}-${name}@test.local`, ip: '192.0.2.1', createdAt } });

  await session('expired', ago(1000));
  await key('old', ago(25 * HOUR));
  await failure('old', ago(16 * 60_000)); // the default window is 15 minutes
  return {
    session: (await session('live', new Date(Date.now() + HOUR))).tokenHash,
    key: (await key('fresh', ago(23 * HOUR))).key,
    failure: (await failure('fresh', ago(60_000))).email,
  };
}

async function remaining(tag: string) {
  return {
    sessions: (await h.prisma.session.findMany({ where: { tokenHash: { startsWith: tag } } })).map((s) => s.tokenHash),
    keys: (await h.prisma.idempotencyKey.findMany({ where: { key: { startsWith: tag } } })).map((k) => k.key),
    failures: (await h.prisma.loginFailure.findMany({ where: { email: { startsWith: tag } } })).map((f) => f.email),
  };
}

test('on start the API deletes expired sessions, Idempotency-Keys older than 24 h and old login failures; fresh rows stay', async () => {
  const user = await h.person('Erin');
  const fresh = await seed(user.id, 'start');
  const app = await buildApp({ prisma: h.prisma });
  try {
    await app.ready();
    assert.deepEqual(await remaining('start'), { sessions: [fresh.session], keys: [fresh.key], failures: [fresh.failure] });
  } finally {
    await app.close();
  }
});

test('the clean-up runs again every interval while the API is up', async () => {
  const user = await h.person('Frank');
  const app = await buildApp({ prisma: h.prisma, cleanupIntervalMs: 200 });
  try {
    await app.ready();
    const fresh = await seed(user.id, 'tick');
    const expected = { sessions: [fresh.session], keys: [fresh.key], failures: [fresh.failure] };
    const seenAt = Date.now();
    let left = await remaining('tick');
    while (JSON.stringify(left) !== JSON.stringify(expected) && Date.now() - seenAt < 5000) {
      await sleep(100);
      left = await remaining('tick');
    }
    assert.deepEqual(left, expected);
  } finally {
    await app.close();
  }
});
