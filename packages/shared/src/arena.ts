// The arena: Bradley–Terry scores per model from human rankings, with bootstrap confidence
// intervals, as Chatbot Arena computes its leaderboard (Elo scale: 1000 + 400·log10 of strength).
// Pure functions; no npm package fits (the few JavaScript Bradley–Terry ones are unmaintained
// toys), and the MM algorithm is a short loop.
import { rankingToPairs, type RankingOrder } from './pairs.ts';

/** Two models' answers met in one ranking; `score` is a's result: 1 win, 0.5 tie, 0 loss. */
export interface Battle {
  a: string;
  b: string;
  score: 1 | 0.5 | 0;
}

/**
 * The battles one ranking holds: every pair of its answers written by two different models, each
 * ordered pair a win (rankingToPairs), each pair in one tied group a tie. Answers without a model
 * (human-written, imported) and pairs from one model take no part.
 */
export function rankingBattles(order: RankingOrder, modelOf: ReadonlyMap<string, string | null | undefined>): Battle[] {
  const battles: Battle[] = [];
  const differ = (x: string, y: string) => {
    const [a, b] = [modelOf.get(x), modelOf.get(y)];
    return a && b && a !== b ? [a, b] : null;
  };
  for (const { better, worse } of rankingToPairs(order)) {
    const m = differ(better, worse);
    if (m) battles.push({ a: m[0], b: m[1], score: 1 });
  }
  for (const group of order) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const m = differ(group[i], group[j]);
        if (m) battles.push({ a: m[0], b: m[1], score: 0.5 });
      }
    }
  }
  return battles;
}

const ELO_BASE = 1000;
const ELO_SCALE = 400 / Math.LN10;

/**
 * Bradley–Terry scores (Elo scale, geometric mean strength = 1000) by Hunter's MM algorithm.
 * A tie counts half a win to each side, as Chatbot Arena counts it. Every pair of models that met
 * also gets half a win each (the Haldane–Anscombe correction), so a model that never lost, or
 * never won, still has a finite score: with two models, score difference = 400·log10((w+½)/(l+½)).
 */
export function bradleyTerry(battles: readonly Battle[]): Map<string, number> {
  const models = [...new Set(battles.flatMap((b) => [b.a, b.b]))].sort();
  const index = new Map(models.map((m, i) => [m, i]));
  const k = models.length;
  const games = Array.from({ length: k }, () => new Float64Array(k));
  const wins = new Float64Array(k);
  for (const { a, b, score } of battles) {
    const [i, j] = [index.get(a)!, index.get(b)!];
    games[i][j]++;
    games[j][i]++;
    wins[i] += score;
    wins[j] += 1 - score;
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j || !games[i][j]) continue;
      games[i][j]++; // one virtual game per ordered pair = one each way, half a win to each side
      wins[i] += 0.5;
    }
  }
  let p = new Float64Array(k).fill(1);
  for (let iter = 0; iter < 10_000; iter++) {
    const next = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      let denom = 0;
      for (let j = 0; j < k; j++) if (games[i][j]) denom += games[i][j] / (p[i] + p[j]);
      next[i] = wins[i] / denom;
    }
    const meanLog = next.reduce((s, v) => s + Math.log(v), 0) / k;
    let change = 0;
    for (let i = 0; i < k; i++) {
      next[i] /= Math.exp(meanLog);
      change = Math.max(change, Math.abs(Math.log(next[i] / p[i])));
    }
    p = next;
    if (change < 1e-12) break;
  }
  return new Map(models.map((m, i) => [m, ELO_BASE + ELO_SCALE * Math.log(p[i])]));
}

/** mulberry32: a small seeded generator, so an interval is the same on every request. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The q-quantile of sorted values, interpolating linearly (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return lo + 1 < sorted.length ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

export interface ArenaScore {
  model: string;
  score: number;
  /** 95% bootstrap interval (2.5% and 97.5% quantiles) */
  lower: number;
  upper: number;
  wins: number;
  losses: number;
  ties: number;
}

export interface ArenaOptions {
  rounds: number;
  seed: number;
}

/**
 * Scores with bootstrap intervals. The resampled unit is the ranking, not the battle: the battles
 * of one ranking come from one rater's one judgement, so they are drawn together (with K = 2
 * answers a ranking is exactly one Chatbot Arena battle). Sorted best first.
 */
export function arenaScores(rankings: readonly Battle[][], { rounds, seed }: ArenaOptions): ArenaScore[] {
  const all = rankings.flat();
  const scores = bradleyTerry(all);
  const samples = new Map([...scores.keys()].map((m) => [m, [] as number[]]));
  const random = seededRandom(seed);
  for (let round = 0; round < rounds; round++) {
    const drawn: Battle[] = [];
    for (let i = 0; i < rankings.length; i++) drawn.push(...rankings[Math.floor(random() * rankings.length)]);
    for (const [m, s] of bradleyTerry(drawn)) samples.get(m)!.push(s);
  }
  const tally = new Map([...scores.keys()].map((m) => [m, { wins: 0, losses: 0, ties: 0 }]));
  for (const { a, b, score } of all) {
    const [ta, tb] = [tally.get(a)!, tally.get(b)!];
    const [winner, loser] = score === 1 ? [ta, tb] : [tb, ta];
    if (score === 0.5) {
      ta.ties++;
      tb.ties++;
    } else {
      winner.wins++;
      loser.losses++;
    }
  }
  return [...scores]
    .map(([model, score]) => {
      const s = samples.get(model)!.sort((x, y) => x - y);
      return { model, score, lower: s.length ? quantile(s, 0.025) : score, upper: s.length ? quantile(s, 0.975) : score, ...tally.get(model)! };
    })
    .sort((x, y) => y.score - x.score || x.model.localeCompare(y.model));
}
