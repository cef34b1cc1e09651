// A CI-sized run of bench/load-raters.ts: 20 raters for 10 s against the API as its own process
// on a fresh database, asking, ranking (ties, skips) and retrying with the same Idempotency-Key,
// then the benchmark's checks of the database. The throughput figures are the benchmark's
// business (docs/benchmarks.md); here every check must hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, runLoad } from '../../bench/load-raters.ts';

test('20 concurrent raters for 10 s: no over-assignment, no rater twice, acknowledged = stored, retries not duplicated', async () => {
  const r = await runLoad({ raters: 20, seconds: 10, open: 1000, answers: 4, rankings: 3, history: 100, retry: 0.2, tie: 0.3, skip: 0.05, think: 0, pool: 4, target: 'api' });
  console.log(describe(r));
  for (const c of r.checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
  assert.ok(r.rankings >= 10, `only ${r.rankings} rankings in ${r.seconds.toFixed(1)} s`);
  assert.ok(r.retries > 0, 'the run retried some submissions');
});
