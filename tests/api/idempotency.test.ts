// Issue 10, item 4: an Idempotency-Key claimed by a request that never finished. Whether a retry
// waits (409 request_in_progress) or takes the key over depends only on whether the claiming
// process still lives (its lease), not on how old the claim is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProcessLease } from '@jielong/db';
import { useHarness } from './harness.ts';
import { seedRankingWork, submit } from '../helpers/rankings.ts';

const h = useHarness('idempotency');

test('a key left in flight: 409 while its process lives, taken over at once when it is gone', async () => {
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { submissions } = await seedRankingWork(h.prisma, 3, 1);
  const [s] = submissions;
  const first = await submit(base, s);
  assert.equal(first.status, 201);
  const where = { userId_key: { userId: s.rater.id, key: s.key } };
  // as if the request had died before its transaction committed: no ranking, the key still claimed
  const leaveInFlight = async (owner: number) => {
    await h.prisma.ranking.deleteMany({ where: { comparisonId: s.comparisonId, raterId: s.rater.id } });
    await h.prisma.idempotencyKey.update({ where, data: { statusCode: 0, responseBody: {}, owner, claim: 'the dead request' } });
  };

  const other = await startProcessLease(h.url);
  await leaveInFlight(other.key);
  const waiting = await submit(base, s);
  assert.deepEqual([waiting.status, (waiting.body as { error: { code: string } }).error.code], [409, 'request_in_progress']);

  await other.stop();
  const retried = await submit(base, s);
  assert.equal(retried.status, 201, JSON.stringify(retried.body));
  assert.equal(retried.replayed, false);
  const again = await submit(base, s);
  assert.deepEqual([again.status, again.replayed, again.body], [201, true, retried.body]);

  // this process's own claim that no request of it holds any more (its answer could not be stored)
  await leaveInFlight(h.app.lease!.key);
  assert.equal((await submit(base, s)).status, 201);
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: s.comparisonId, raterId: s.rater.id } }), 1);
});
