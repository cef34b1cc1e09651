// The agreement a submission adds under its comparison's lock (jielong_agreement_with, migration
// 20261201221000_agreement_under_lock) is the dashboard's definition (pairwiseAgreement, packages/
// shared), one ranking at a time: for any rankings, with ties and answers some leave out, what each
// adds to those before it sums to the agreement over all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pairwiseAgreement, type RankingOrder } from '@jielong/shared';
import { migratedClient } from '../helpers/db.ts';

/** An order of some of the answers a–e: a shuffled subset cut into groups (ties). */
const order = fc
  .shuffledSubarray(['a', 'b', 'c', 'd', 'e'], { minLength: 0 })
  .chain((ids) => fc.array(fc.boolean(), { minLength: ids.length, maxLength: ids.length }).map((cuts) => ({ ids, cuts })))
  .map(({ ids, cuts }) => {
    const groups: string[][] = [];
    ids.forEach((id, i) => (i === 0 || cuts[i] ? groups.push([id]) : groups[groups.length - 1].push(id)));
    return groups as RankingOrder;
  });

test('what each ranking adds to the agreement, under the lock, sums to pairwiseAgreement over all of them', async (t) => {
  const client = await migratedClient(t, 'dbtest_agreement');
  await fc.assert(
    fc.asyncProperty(fc.array(order, { maxLength: 6 }), async (orders) => {
      let compared = 0;
      let agreed = 0;
      for (let i = 0; i < orders.length; i++) {
        const { rows } = await client.query('SELECT * FROM "jielong_agreement_with"($1, $2)', [JSON.stringify(orders[i]), JSON.stringify(orders.slice(0, i))]);
        compared += rows[0].compared;
        agreed += rows[0].agreed;
      }
      assert.deepEqual({ comparedPairs: compared, agreedPairs: agreed }, pairwiseAgreement(orders));
    }),
    { numRuns: 300 },
  );
});
