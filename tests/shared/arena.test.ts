// Bradley–Terry scores and bootstrap intervals against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arenaScores, bradleyTerry, quantile, rankingBattles, seededRandom, type Battle } from '@jielong/shared';

const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);
const win = (a: string, b: string): Battle => ({ a, b, score: 1 });

test('rankingBattles: pairs of answers from two different models; a tied group gives ties', () => {
  const modelOf = new Map([['a1', 'M1'], ['a2', 'M1'], ['b1', 'M2'], ['h', null]]);
  assert.deepEqual(rankingBattles([['a1'], ['b1', 'a2'], ['h']], modelOf), [
    { a: 'M1', b: 'M2', score: 1 }, // a1 above b1; a1–a2 is one model, h has none
    { a: 'M2', b: 'M1', score: 0.5 }, // b1 tied with a2
  ]);
});

test('bradleyTerry: closed forms with half a win added to each side of every pairing', () => {
  // two models, A won 3 of 4: strengths 3.5 : 1.5, scores 1000 ± 200·log10(7/3)
  const two = bradleyTerry([win('A', 'B'), win('A', 'B'), win('A', 'B'), win('B', 'A')]);
  near(two.get('A')!, 1000 + 200 * Math.log10(7 / 3), 'A');
  near(two.get('B')!, 1000 - 200 * Math.log10(7 / 3), 'B');

  // a chain A–B–C (A never met C), each won 3 of 4: each edge alone fixes a difference of
  // 400·log10(7/3) = 147.19, and the geometric mean puts B at 1000
  const chain = bradleyTerry([win('A', 'B'), win('A', 'B'), win('A', 'B'), win('B', 'A'), win('B', 'C'), win('B', 'C'), win('B', 'C'), win('C', 'B')]);
  near(chain.get('A')!, 1000 + 400 * Math.log10(7 / 3), 'A');
  near(chain.get('B')!, 1000, 'B');
  near(chain.get('C')!, 1000 - 400 * Math.log10(7 / 3), 'C');

  // a tie is half a win each: A 1 + ½ + ½ = 2, B ½ + ½ = 1, a difference of 400·log10 2
  const tie = bradleyTerry([win('A', 'B'), { a: 'A', b: 'B', score: 0.5 }]);
  near(tie.get('A')! - tie.get('B')!, 400 * Math.log10(2), 'A − B');

  // a model that never won still has a finite score: 0 of 3 → (0 + ½) : (3 + ½)
  const shut = bradleyTerry([win('A', 'B'), win('A', 'B'), win('A', 'B')]);
  near(shut.get('A')! - shut.get('B')!, 400 * Math.log10(7), 'A − B');
});

test('bradleyTerry: on a cycle the scores satisfy the likelihood equations W_i = Σ_j N_ij·p_i/(p_i+p_j)', () => {
  const battles = [win('A', 'B'), win('A', 'B'), win('B', 'A'), win('B', 'C'), win('C', 'A'), win('C', 'A'), win('A', 'C')];
  const s = bradleyTerry(battles);
  const p = (m: string) => 10 ** ((s.get(m)! - 1000) / 400);
  // with the half-win correction: A–B 2:1 → 2.5:1.5 of 4, B–C 1:0 → 1.5:0.5 of 2, C–A 2:1 → 2.5:1.5 of 4
  const W = { A: 2.5 + 1.5, B: 1.5 + 1.5, C: 0.5 + 2.5 };
  const N = { AB: 4, BC: 2, CA: 4 };
  near(N.AB * (p('A') / (p('A') + p('B'))) + N.CA * (p('A') / (p('A') + p('C'))), W.A, 'A');
  near(N.AB * (p('B') / (p('A') + p('B'))) + N.BC * (p('B') / (p('B') + p('C'))), W.B, 'B');
  near(N.BC * (p('C') / (p('B') + p('C'))) + N.CA * (p('C') / (p('A') + p('C'))), W.C, 'C');
  near(Math.log(p('A')) + Math.log(p('B')) + Math.log(p('C')), 0, 'geometric mean 1');
});

test('arenaScores: bootstrap interval of two opposite rankings, by hand', () => {
  // Resampling 2 rankings gives A 0, 1 or 2 wins (¼, ½, ¼): scores 1000 − 200·log10 5, 1000, 1000 + 200·log10 5.
  // With 200 rounds the 2.5% and 97.5% quantiles fall inside the ~50 rounds at each extreme.
  const [a, b] = arenaScores([[win('A', 'B')], [win('B', 'A')]], { rounds: 200, seed: 1 });
  near(a.score, 1000, 'A');
  near(b.score, 1000, 'B');
  near(a.lower, 1000 - 200 * Math.log10(5), 'A lower');
  near(a.upper, 1000 + 200 * Math.log10(5), 'A upper');
  assert.deepEqual([a.wins, a.losses, a.ties], [1, 1, 0]);

  // the same seed, the same intervals; identical rankings leave no spread at all
  const data = [[win('A', 'B')], [win('A', 'B')], [win('B', 'A')], [win('B', 'C'), { a: 'A', b: 'C', score: 0.5 } as Battle]];
  assert.deepEqual(arenaScores(data, { rounds: 50, seed: 7 }), arenaScores(data, { rounds: 50, seed: 7 }));
  const same = arenaScores([[win('A', 'B')], [win('A', 'B')]], { rounds: 30, seed: 3 });
  near(same[0].lower, same[0].score, 'no spread');
  near(same[0].upper, 1000 + 200 * Math.log10(5), 'A: (2 + ½) : ½');
  assert.equal(same[0].model, 'A', 'best first');
});

test('quantile interpolates linearly; seededRandom repeats per seed', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([10], 0.975), 10);
  const r1 = seededRandom(42);
  const r2 = seededRandom(42);
  const xs = Array.from({ length: 5 }, () => r1());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => r2()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
