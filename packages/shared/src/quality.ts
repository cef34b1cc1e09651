// Quality control of raters: agreement with the other raters of a comparison, accuracy on gold
// comparisons, and the project's inter-rater reliability (Krippendorff's α). Pure functions over
// rankings, all built on rankingToPairs/pairwiseAgreement, so the metrics mean what the export means.
// Written here rather than taken from npm: the only JavaScript α package (krippendorff 0.1.0) is an
// unmaintained one-off, and α over three nominal values is a few lines.
import { pairwiseAgreement, rankingToPairs, type RankingOrder } from './pairs.ts';

/** One rater's judgement of an answer pair (a, b), a before b by id: 1 a better, -1 b better, 0 tie. */
export type PairJudgement = -1 | 0 | 1;

/**
 * The units α is computed over: one per (comparison, answer pair) that two or more of the given
 * rankings of ONE comparison order, holding each ranking's judgement of the pair.
 */
export function judgementUnits(orders: RankingOrder[]): PairJudgement[][] {
  if (orders.length < 2) return [];
  const pairSets = orders.map((order) => new Set(rankingToPairs(order).map((p) => `${p.better}\u0000${p.worse}`)));
  const present = orders.map((order) => new Set(order.flat()));
  const ids = [...new Set(orders.flat(2))].sort();
  const units: PairJudgement[][] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i], ids[j]];
      const values: PairJudgement[] = [];
      orders.forEach((_, r) => {
        if (!present[r].has(a) || !present[r].has(b)) return;
        values.push(pairSets[r].has(`${a}\u0000${b}`) ? 1 : pairSets[r].has(`${b}\u0000${a}`) ? -1 : 0);
      });
      if (values.length >= 2) units.push(values);
    }
  }
  return units;
}

export interface Alpha {
  /** null when there is nothing to compare, or every judgement is the same (α is undefined then) */
  alpha: number | null;
  /** units with two or more judgements */
  units: number;
  /** judgements in those units (n in Krippendorff's notation) */
  judgements: number;
}

/**
 * Krippendorff's α for nominal values: 1 − D_o/D_e from the coincidence matrix,
 * α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k, each unit of m values adding 1/(m − 1) per
 * ordered pair of its values. Units with fewer than two values are not pairable and are left out.
 */
export function krippendorffAlpha(units: readonly (readonly number[])[]): Alpha {
  const o = new Map<string, number>();
  const nc = new Map<number, number>();
  let n = 0;
  let pairable = 0;
  for (const values of units) {
    const m = values.length;
    if (m < 2) continue;
    pairable++;
    n += m;
    for (let i = 0; i < m; i++) {
      nc.set(values[i], (nc.get(values[i]) ?? 0) + 1);
      for (let j = 0; j < m; j++) {
        if (i === j || values[i] === values[j]) continue;
        const key = `${values[i]}|${values[j]}`;
        o.set(key, (o.get(key) ?? 0) + 1 / (m - 1));
      }
    }
  }
  const observed = [...o.values()].reduce((s, v) => s + v, 0);
  const expected = n * n - [...nc.values()].reduce((s, v) => s + v * v, 0);
  return { alpha: expected > 0 ? 1 - ((n - 1) * observed) / expected : null, units: pairable, judgements: n };
}

/**
 * What α over pairwise judgements needs to know of some units, in sums that add up over units,
 * comparisons and days (so the dashboard can keep them per comparison and per day, and add).
 * With every unit counted in both orientations (see `reliability`), α follows from these alone:
 * n = 2·judgements, n₁ = n₋₁ = strict, n₀ = 2·(judgements − strict), and the disagreement is
 * twice `disagreement`.
 */
export interface AlphaSums {
  /** units with two or more judgements */
  units: number;
  /** judgements in those units */
  judgements: number;
  /** …of which say one answer is better (±1; the others are ties) */
  strict: number;
  /** Σ over units of (ordered pairs of its values that differ) / (m − 1) */
  disagreement: number;
}

export const noAlphaSums: AlphaSums = { units: 0, judgements: 0, strict: 0, disagreement: 0 };

/** a + sign·b */
export function addAlphaSums(a: AlphaSums, b: AlphaSums, sign: 1 | -1 = 1): AlphaSums {
  return { units: a.units + sign * b.units, judgements: a.judgements + sign * b.judgements, strict: a.strict + sign * b.strict, disagreement: a.disagreement + sign * b.disagreement };
}

/** The α sums of ONE comparison's rankings. */
export function comparisonAlphaSums(orders: RankingOrder[]): AlphaSums {
  let judgements = 0;
  let strict = 0;
  let disagreement = 0;
  const units = judgementUnits(orders);
  for (const values of units) {
    const m = values.length;
    const count = { [-1]: 0, 0: 0, 1: 0 };
    for (const v of values) count[v]++;
    judgements += m;
    strict += count[1] + count[-1];
    // ordered pairs (i ≠ j) of differing values: m² minus the pairs of equal values (i = j included)
    disagreement += (m * m - count[1] ** 2 - count[0] ** 2 - count[-1] ** 2) / (m - 1);
  }
  return { units: units.length, judgements, strict, disagreement };
}

/** Krippendorff's α from the sums, as krippendorffAlpha over the units and their mirrors computes it. */
export function alphaOfSums({ units, judgements, strict, disagreement }: AlphaSums): Alpha {
  const n = 2 * judgements;
  const expected = n * n - 2 * strict * strict - (n - 2 * strict) ** 2;
  return { alpha: expected > 0 ? 1 - ((n - 1) * 2 * disagreement) / expected : null, units, judgements };
}

/**
 * Krippendorff's α over the pairwise judgements of many comparisons (each a list of rankings).
 * Which answer of a pair is "a" is arbitrary (ids), yet α depends on how often each value occurs;
 * so every unit is counted in both orientations, and α depends only on how the raters split.
 * `units` and `judgements` count each unit once. The same as krippendorffAlpha over the units and
 * their mirrors (tests/shared/quality.test.ts), computed from sums that add up.
 */
export function reliability(comparisons: Iterable<RankingOrder[]>): Alpha {
  let sums = noAlphaSums;
  for (const orders of comparisons) sums = addAlphaSums(sums, comparisonAlphaSums(orders));
  return alphaOfSums(sums);
}

/** A ranking as the rater statistics read it. */
export interface RaterRanking {
  raterId: string;
  comparisonId: string;
  /** [] when skipped */
  order: RankingOrder;
  skipped: boolean;
  timeSpentMs: number;
}

export interface PairCounts {
  compared: number;
  agreed: number;
  /** agreed / compared; null without any compared pair */
  rate: number | null;
}

export interface RaterQuality {
  raterId: string;
  /** non-skipped rankings */
  rankings: number;
  skips: number;
  /** skips / (rankings + skips) */
  skipRate: number | null;
  /** median time per task over rankings and skips, in ms */
  medianTimeMs: number | null;
  /** with every other rater of the same comparisons, pair by pair (pairwiseAgreement of the two) */
  agreement: PairCounts;
  /** gold comparisons ranked (not skipped), and their answer pairs judged as the gold order does */
  gold: PairCounts & { rankings: number };
}

const counts = (compared: number, agreed: number): PairCounts => ({ compared, agreed, rate: compared ? agreed / compared : null });

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Per-rater statistics over a project's rankings. `gold` maps a gold comparison's id to its known
 * order; a gold ranking is scored against that order by pairwiseAgreement, the same measure as
 * agreement between two raters.
 */
export function raterQuality(rankings: readonly RaterRanking[], gold: ReadonlyMap<string, RankingOrder>): RaterQuality[] {
  const byComparison = new Map<string, RaterRanking[]>();
  const byRater = new Map<string, RaterRanking[]>();
  for (const r of rankings) {
    byRater.set(r.raterId, [...(byRater.get(r.raterId) ?? []), r]);
    if (!r.skipped) byComparison.set(r.comparisonId, [...(byComparison.get(r.comparisonId) ?? []), r]);
  }
  return [...byRater].map(([raterId, own]) => {
    const ranked = own.filter((r) => !r.skipped);
    let compared = 0;
    let agreed = 0;
    let goldCompared = 0;
    let goldAgreed = 0;
    let goldRankings = 0;
    for (const r of ranked) {
      for (const other of byComparison.get(r.comparisonId) ?? []) {
        if (other.raterId === raterId) continue;
        const a = pairwiseAgreement([r.order, other.order]);
        compared += a.comparedPairs;
        agreed += a.agreedPairs;
      }
      const known = gold.get(r.comparisonId);
      if (known) {
        const a = pairwiseAgreement([known, r.order]);
        goldRankings++;
        goldCompared += a.comparedPairs;
        goldAgreed += a.agreedPairs;
      }
    }
    const skips = own.length - ranked.length;
    return {
      raterId,
      rankings: ranked.length,
      skips,
      skipRate: own.length ? skips / own.length : null,
      medianTimeMs: median(own.map((r) => r.timeSpentMs)),
      agreement: counts(compared, agreed),
      gold: { rankings: goldRankings, ...counts(goldCompared, goldAgreed) },
    };
  });
}
