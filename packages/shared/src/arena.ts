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

/** Games and wins between models by index: games[i·k + j] battles of i with j, wins[i] i's score. */
interface Tally {
  k: number;
  games: Float64Array;
  wins: Float64Array;
}

const newTally = (k: number): Tally => ({ k, games: new Float64Array(k * k), wins: new Float64Array(k) });

/** A battle between model indexes i and j, i scoring `score`. */
function add(t: Tally, i: number, j: number, score: number) {
  t.games[i * t.k + j]++;
  t.games[j * t.k + i]++;
  t.wins[i] += score;
  t.wins[j] += 1 - score;
}

/**
 * Bradley–Terry log-strengths by Hunter's MM algorithm (NaN for a model without games), with
 * half a win added to each side of every pairing that met (the Haldane–Anscombe correction), so a
 * model that never lost, or never won, still has a finite score. Mean log-strength 0.
 */
function fit({ k, games, wins }: Tally): Float64Array {
  const n = new Float64Array(k * k);
  const w = Float64Array.from(wins);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j || !games[i * k + j]) continue;
      n[i * k + j] = games[i * k + j] + 1; // one virtual game each way, half a win to each side
      w[i] += 0.5;
    }
  }
  const present = Array.from({ length: k }, (_, i) => n.subarray(i * k, i * k + k).some((g) => g > 0));
  let p = new Float64Array(k).fill(1);
  for (let iter = 0; iter < 10_000; iter++) {
    const next = new Float64Array(k);
    let meanLog = 0;
    for (let i = 0; i < k; i++) {
      if (!present[i]) continue;
      let denom = 0;
      for (let j = 0; j < k; j++) if (n[i * k + j]) denom += n[i * k + j] / (p[i] + p[j]);
      next[i] = w[i] / denom;
      meanLog += Math.log(next[i]);
    }
    meanLog /= present.filter(Boolean).length;
    let change = 0;
    for (let i = 0; i < k; i++) {
      if (!present[i]) continue;
      next[i] /= Math.exp(meanLog);
      change = Math.max(change, Math.abs(Math.log(next[i] / p[i])));
    }
    p = next;
    if (change < 1e-12) break;
  }
  return p.map((v, i) => (present[i] ? Math.log(v) : NaN));
}

const elo = (logStrength: number) => ELO_BASE + ELO_SCALE * logStrength;

/**
 * Bradley–Terry scores (Elo scale, geometric mean strength = 1000). A tie counts half a win to
 * each side, as Chatbot Arena counts it; with two models, score difference = 400·log10((w+½)/(l+½)).
 */
export function bradleyTerry(battles: readonly Battle[]): Map<string, number> {
  const models = [...new Set(battles.flatMap((b) => [b.a, b.b]))].sort();
  const index = new Map(models.map((m, i) => [m, i]));
  const t = newTally(models.length);
  for (const { a, b, score } of battles) add(t, index.get(a)!, index.get(b)!, score);
  const s = fit(t);
  return new Map(models.map((m, i) => [m, elo(s[i])]));
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
  const models = [...scores.keys()];
  const index = new Map(models.map((m, i) => [m, i]));
  // each ranking as flat (i, j, score) triples, so a round only adds numbers
  const coded = rankings.map((battles) => battles.flatMap(({ a, b, score }) => [index.get(a)!, index.get(b)!, score]));
  const samples = models.map(() => [] as number[]);
  const random = seededRandom(seed);
  for (let round = 0; round < rounds; round++) {
    const t = newTally(models.length);
    for (let r = 0; r < coded.length; r++) {
      const triples = coded[Math.floor(random() * coded.length)];
      for (let x = 0; x < triples.length; x += 3) add(t, triples[x], triples[x + 1], triples[x + 2]);
    }
    fit(t).forEach((s, i) => Number.isNaN(s) || samples[i].push(elo(s)));
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
      const s = samples[index.get(model)!].sort((x, y) => x - y);
      return { model, score, lower: s.length ? quantile(s, 0.025) : score, upper: s.length ? quantile(s, 0.975) : score, ...tally.get(model)! };
    })
    .sort((x, y) => y.score - x.score || x.model.localeCompare(y.model));
}
