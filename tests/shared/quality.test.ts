// The quality metrics against values worked out by hand on a small fixed dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addAlphaSums, alphaOfSums, comparisonAlphaSums, judgementUnits, krippendorffAlpha, noAlphaSums, raterQuality, reliability, type PairJudgement, type RaterRanking } from '@jielong/shared';

// c1 (answers a, b, c) ranked by three raters, c2 (x, y) by two, gold g (p, q, r) by R1, R2, and skipped by R3.
const R1c1 = [['a'], ['b'], ['c']];
const R2c1 = [['a'], ['c'], ['b']];
const R3c1 = [['a'], ['b', 'c']];
const R1c2 = [['x'], ['y']];
const R2c2 = [['y'], ['x']];
const GOLD = [['p'], ['q'], ['r']];

test('judgementUnits: one unit per answer pair, +1 / −1 / 0 per ranking', () => {
  assert.deepEqual(judgementUnits([R1c1, R2c1, R3c1]), [
    [1, 1, 1], // a–b
    [1, 1, 1], // a–c
    [1, -1, 0], // b–c: b above c, c above b, a tie
  ]);
  assert.deepEqual(judgementUnits([R1c2]), [], 'one ranking: nothing to compare');
});

test("Krippendorff's α (nominal) over the pairwise judgements, computed by hand", () => {
  // units [1,1,1] [1,1,1] [1,−1,0] [1,−1], each also mirrored ([−1,−1,−1] …) as the orientation is arbitrary:
  // n = 22, n₁ = n₋₁ = 10, n₀ = 2; disagreeing coincidences 2 × (6 × ½ + 2 × 1) = 10
  // α = 1 − (n − 1) · 10 / (n² − Σ n_c²) = 1 − 21 · 10 / (484 − 204) = 1 − 210/280 = 0.25
  const r = reliability([[R1c1, R2c1, R3c1], [R1c2, R2c2]]);
  assert.equal(r.units, 4);
  assert.equal(r.judgements, 11);
  assert.ok(Math.abs(r.alpha! - 0.25) < 1e-12, String(r.alpha));
  // renaming a to z (now sorted last) flips the orientation of a's pairs, not α
  const rename = (order: string[][]) => order.map((g) => g.map((id) => (id === 'a' ? 'z' : id)));
  assert.ok(Math.abs(reliability([[R1c1, R2c1, R3c1].map(rename), [R1c2, R2c2]]).alpha! - 0.25) < 1e-12);

  // without the mirror, on the units as given: n = 11, n₁ = 8, n₋₁ = 2, n₀ = 1, disagreement 5 → 1 − 10·5/52
  assert.ok(Math.abs(krippendorffAlpha([[1, 1, 1], [1, 1, 1], [1, -1, 0], [1, -1]]).alpha! - (1 - 50 / 52)) < 1e-12);
  assert.equal(reliability([[R1c1, R1c1], [R2c2, R2c2]]).alpha, 1, 'identical rankings: α = 1');
  // two raters always opposite: units [1,−1] [−1,1] and mirrors: n = 8, n₁ = n₋₁ = 4, o = 8 → 1 − 7·8/32 = −0.75
  assert.equal(reliability([[R1c2, R2c2], [R2c2, R1c2]]).alpha, -0.75);
  assert.equal(krippendorffAlpha([[1, 1], [1, 1]]).alpha, null, 'no variation at all: α undefined');
  assert.equal(krippendorffAlpha([[1]]).units, 0, 'a single judgement is not pairable');
});

test('reliability from added sums is krippendorffAlpha over the units and their mirrors, on random rankings', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const shuffled = <T>(xs: T[]) => xs.map((x) => [random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  const comparisons = Array.from({ length: 200 }, () => {
    const answers = shuffled(['a', 'b', 'c', 'd']).slice(0, 2 + Math.floor(random() * 3));
    return Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
      // an order with ties, sometimes leaving an answer out
      const groups: string[][] = [];
      for (const id of shuffled(answers)) {
        if (random() < 0.1) continue;
        if (groups.length && random() < 0.3) groups[groups.length - 1].push(id);
        else groups.push([id]);
      }
      return groups;
    });
  });
  const units = comparisons.flatMap((orders) => judgementUnits(orders));
  const expected = krippendorffAlpha([...units, ...units.map((u) => u.map((v) => -v as PairJudgement))]);
  const got = reliability(comparisons);
  assert.ok(Math.abs(got.alpha! - expected.alpha!) < 1e-12, `${got.alpha} vs ${expected.alpha}`);
  assert.equal(got.units, units.length);
  // added and taken away again, the sums are as before
  const sums = comparisons.map(comparisonAlphaSums);
  const all = sums.reduce((a, b) => addAlphaSums(a, b), noAlphaSums);
  const lessFirst = addAlphaSums(all, sums[0], -1);
  assert.ok(Math.abs(alphaOfSums(addAlphaSums(lessFirst, sums[0])).alpha! - expected.alpha!) < 1e-12);
});

test('raterQuality: rankings, skips, median time, agreement with the others and accuracy on gold, by hand', () => {
  const r = (raterId: string, comparisonId: string, order: string[][], timeSpentMs: number): RaterRanking => ({ raterId, comparisonId, order, skipped: order.length === 0, timeSpentMs });
  const rankings = [
    r('R1', 'c1', R1c1, 1000),
    r('R1', 'c2', R1c2, 3000),
    r('R1', 'g', GOLD, 2000),
    r('R2', 'c1', R2c1, 4000),
    r('R2', 'c2', R2c2, 1000),
    r('R2', 'g', [['q'], ['p'], ['r']], 6000),
    r('R3', 'c1', R3c1, 500),
    r('R3', 'g', [], 1500),
  ];
  const stats = new Map(raterQuality(rankings, new Map([['g', GOLD]])).map((s) => [s.raterId, s]));
  // R1 against R2: c1 2 of 3 (b–c differs), c2 0 of 1, g 2 of 3; against R3: c1 2 of 3 (b–c: order vs tie)
  assert.deepEqual(stats.get('R1'), {
    raterId: 'R1',
    rankings: 3,
    skips: 0,
    skipRate: 0,
    medianTimeMs: 2000,
    agreement: { compared: 10, agreed: 6, rate: 0.6 },
    gold: { rankings: 1, compared: 3, agreed: 3, rate: 1 },
  });
  // R2 swapped p and q on gold: p–q wrong, p–r and q–r right
  assert.deepEqual(stats.get('R2')!.agreement, { compared: 10, agreed: 6, rate: 0.6 });
  assert.deepEqual(stats.get('R2')!.gold, { rankings: 1, compared: 3, agreed: 2, rate: 2 / 3 });
  assert.equal(stats.get('R2')!.medianTimeMs, 4000);
  // R3 skipped gold: half its tasks skipped, no gold score; c1 against R1 and R2: 2 of 3 each
  assert.deepEqual(stats.get('R3'), {
    raterId: 'R3',
    rankings: 1,
    skips: 1,
    skipRate: 0.5,
    medianTimeMs: 1000,
    agreement: { compared: 6, agreed: 4, rate: 4 / 6 },
    gold: { rankings: 0, compared: 0, agreed: 0, rate: null },
  });
});
