// Rating at scale (issue 13): N simulated raters ask for a task, rank it (ties, some skips) and
// submit with an Idempotency-Key, some retrying with the same key, for T seconds against the real
// API (spawned as its own process) on PostgreSQL; then the database is checked (no over-assignment,
// no rater twice on a comparison, acknowledged = stored, retries not duplicated) and the run fails
// when a check does. The anchor in the same run: the same reads and writes through pg alone
// (rating/floor.ts), on an identical fresh database.
//
//   npx tsx bench/load-raters.ts [--raters 200] [--seconds 30] [--open 10000[,100000…]] [--answers 4]
//       [--rankings 3] [--history 10000] [--retry 0.1] [--tie 0.3] [--skip 0.03] [--think 0] [--pool 10] [--api-nice=0] [--target both|api|floor]
//       [--cpu-prof] [--keep]
//
// --think 0 (no time spent reading) measures the most rankings/s the server gives: each rater's
// latency is then its queue (200 raters / throughput). A think time sets the offered load, for the
// latency a rater feels at a given rate. A run at one size stops early once half of its slots (open × rankings) are ranked, so a small
// project is not drained into an empty queue (its warm-up then ends after a quarter). --api-nice
// sets the API's priority, as a service manager would (-10: root only).
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyMigrations } from '@jielong/db';
import { createEmptyDatabase, serverUrl } from '../tests/helpers/db.ts';
import { seedRatingProject, type Seeded } from './rating/seed.ts';
import { httpClient, type RaterClient, type RankingBody } from './rating/client.ts';
import { floorClient } from './rating/floor.ts';
import { checkRun, type Ack, type Check, type RunRecord } from './rating/checks.ts';
import { startApi } from './rating/api-process.ts';

export interface LoadOptions {
  raters: number;
  seconds: number;
  open: number;
  answers: number;
  rankings: number;
  /** comparisons closed before the run (N rankings each): a project in progress, not a new one */
  history: number;
  /** share of submissions sent again with the same key (half of them while the first is in flight) */
  retry: number;
  /** share of rankings with a tie */
  tie: number;
  /** share of tasks skipped with a reason */
  skip: number;
  /** mean time a rater spends on a task between hand-out and submit (ms, uniform over ±50%) */
  think: number;
  /** connections of the API's pool and of the floor's */
  pool: number;
  /** the API process's nice value (unset: as the shell started it); below 0 gives it the cores before PostgreSQL's backends */
  apiNice?: number;
  target: 'api' | 'floor';
  cpuProf?: string;
  keep?: boolean;
}

export interface Latency {
  n: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface LoadResult {
  target: 'api' | 'floor';
  open: number;
  raters: number;
  seconds: number;
  rankings: number;
  rankingsPerSecond: number;
  handOut: Latency;
  submit: Latency;
  retries: number;
  /** the whole machine's CPU over the timed part (/proc/stat), every process of the run included */
  cpu: MachineCpu;
  checks: Check[];
  ok: boolean;
}

export interface MachineCpu {
  /** CPU-milliseconds spent (user, system, interrupts) per ranking */
  busyMsPerRanking: number;
  /** share of the cores' time the hypervisor gave to others (steal): a shared host's slow minutes */
  stealShare: number;
}

/** The machine's CPU time so far (/proc/stat, in clock ticks): busy, steal and all. */
function cpuTicks(): { busy: number; steal: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

const WARM_UP_MS = 5000;

function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN);
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function rankingFor(answerIds: string[], o: LoadOptions): RankingBody {
  const timeSpentMs = 5000 + Math.floor(Math.random() * 60_000);
  if (Math.random() < o.skip) return { skipped: true, skipReason: 'I cannot judge this one', timeSpentMs };
  const order = shuffle(answerIds).map((id) => [id]);
  if (order.length > 2 && Math.random() < o.tie) order.splice(1, 2, [...order[1], ...order[2]]);
  return { order, skipped: false, timeSpentMs };
}

type Timed = RunRecord & { handOutMs: number[]; submitMs: number[] };

/** One rater's loop until `stop`, or until the run has its rankings; timed only when `timed`. */
async function rater(client: RaterClient, token: string, raterId: string, o: LoadOptions, run: Timed, stop: () => boolean, timed: () => boolean, done = new Set<string>()) {
  while (!stop()) {
    let t = performance.now();
    const { task } = await client.handOut(token);
    if (timed()) run.handOutMs.push(performance.now() - t);
    if (!task) return;
    if (done.has(task.comparisonId)) run.handedTwice++;
    if (o.think) await new Promise((r) => setTimeout(r, o.think * (0.5 + Math.random())));
    const body = rankingFor(
      task.answers.map((a) => a.id),
      o,
    );
    const key = randomUUID();
    const retry = Math.random() < o.retry;
    const inFlight = retry && Math.random() < 0.5;
    t = performance.now();
    let [first, early] = await Promise.all([client.submit(token, task.comparisonId, body, key), inFlight ? client.submit(token, task.comparisonId, body, key) : null]);
    if (timed()) run.submitMs.push(performance.now() - t);
    // of two sent at once, the one the API processed is the first; the other waited or was replayed
    if (early && (first.status !== 201 || first.replayed) && early.status === 201 && !early.replayed) [first, early] = [early, first];
    if (first.status !== 201 || !first.rankingId) {
      run.errors.push(`submit ${first.status} ${first.code ?? ''}`);
      continue;
    }
    done.add(task.comparisonId);
    run.acks.push({ rankingId: first.rankingId, comparisonId: task.comparisonId, raterId });
    if (!retry) continue;
    run.retries++;
    // a retry sent while the first was in flight may be told to wait (409 request_in_progress)
    const again = early && early.status !== 409 ? early : await client.submit(token, task.comparisonId, body, key);
    if (again.status !== 201) run.errors.push(`retry ${again.status} ${again.code ?? ''}`);
    else if (again.rankingId !== first.rankingId || !again.replayed) run.retriesWrong++;
  }
}

/** Seeds a fresh database, runs the raters against the API or the floor, checks, drops it. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const db = await createEmptyDatabase(`load_${o.target}`);
  const admin = new pg.Client({ connectionString: db.url });
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    await applyMigrations(db.url, { createDatabase: false });
    await admin.connect();
    const seeded: Seeded = await seedRatingProject(admin, { raters: o.raters, open: o.open, answers: o.answers, rankingsPerComparison: o.rankings, complete: o.history });
    const ttlMs = 30 * 60_000;
    let client: RaterClient & { close(): unknown };
    if (o.target === 'api') {
      api = await startApi(db.url, { pool: o.pool, cpuProf: o.cpuProf, nice: o.apiNice });
      // a project in progress has its past work counted on its dashboard already: the API folds the
      // seed's backlog in the background, and the run starts once it has (then vacuumed, as before)
      await dashboardUpToDate(api.url, seeded.projectId, seeded.researcher.token);
      await admin.query('VACUUM ANALYZE');
      client = httpClient(api.url, seeded.projectId, o.raters);
    } else {
      client = floorClient(db.url, o.pool, seeded.projectId, ttlMs);
    }
    const run = { projectId: seeded.projectId, since: new Date(), acks: [] as Ack[], retries: 0, retriesWrong: 0, handedTwice: 0, errors: [] as string[], handOutMs: [] as number[], submitMs: [] as number[] };
    const enough = Math.floor((o.open * o.rankings) / 2);
    // warm-up (not timed, still checked): connections opened, statements prepared, code compiled. It ends
    // early on a small project, after a quarter of its slots, so that a quarter is left to time.
    const warm = performance.now() + WARM_UP_MS;
    let started = Infinity;
    let startAcks = 0;
    let startCpu = cpuTicks();
    const deadline = warm + o.seconds * 1000;
    const stop = () => performance.now() >= deadline || run.acks.length >= enough;
    const timed = () => {
      if (started === Infinity && (performance.now() >= warm || run.acks.length >= enough / 2)) [started, startAcks, startCpu] = [performance.now(), run.acks.length, cpuTicks()];
      return started !== Infinity;
    };
    await Promise.all(
      seeded.raters.map((r) =>
        rater(client, r.token, r.id, o, run, stop, timed).catch((err: Error) => {
          run.errors.push(err.message);
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const endCpu = cpuTicks();
    await client.close();
    const checks = await checkRun(admin, run);
    const rankings = run.acks.length - startAcks;
    const tickMs = 1000 / 100; // USER_HZ is 100 on Linux
    const cpu = {
      busyMsPerRanking: ((endCpu.busy - startCpu.busy) * tickMs) / rankings,
      stealShare: (endCpu.steal - startCpu.steal) / Math.max(1, endCpu.total - startCpu.total),
    };
    return {
      target: o.target,
      open: o.open,
      raters: o.raters,
      seconds,
      rankings,
      rankingsPerSecond: rankings / seconds,
      handOut: latency(run.handOutMs),
      submit: latency(run.submitMs),
      retries: run.retries,
      cpu,
      checks,
      ok: checks.every((c) => c.ok),
    };
  } finally {
    await api?.stop();
    await admin.end().catch(() => {});
    if (!o.keep) await db.drop();
    else console.log(`kept database ${db.url}`);
  }
}

async function dashboardUpToDate(apiUrl: string, projectId: string, token: string): Promise<void> {
  for (const until = Date.now() + 600_000; ; await new Promise((r) => setTimeout(r, 500))) {
    const res = await fetch(`${apiUrl}/v1/projects/${projectId}/dashboard?days=1`, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok && ((await res.json()) as { upToDate: boolean }).upToDate) return;
    if (Date.now() > until) throw new Error(`the dashboard is still not up to date after 600 s (last answer ${res.status})`);
  }
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 1 : 0) : '-');
export function describe(r: LoadResult): string {
  return (
    `${r.target.padEnd(5)} open ${String(r.open).padStart(6)}: ${r.rankingsPerSecond.toFixed(1).padStart(6)} rankings/s (${r.rankings} in ${r.seconds.toFixed(1)} s, ${r.retries} retries); ` +
    `hand-out p50/p95/p99 ${ms(r.handOut.p50)}/${ms(r.handOut.p95)}/${ms(r.handOut.p99)} ms; submit ${ms(r.submit.p50)}/${ms(r.submit.p95)}/${ms(r.submit.p99)} ms; ` +
    `machine CPU ${r.cpu.busyMsPerRanking.toFixed(2)} ms/ranking, steal ${(100 * r.cpu.stealShare).toFixed(0)}%`
  );
}

async function main() {
  const { values } = parseArgs({
    options: {
      raters: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '30' },
      open: { type: 'string', default: '10000' },
      answers: { type: 'string', default: '4' },
      rankings: { type: 'string', default: '3' },
      history: { type: 'string', default: '10000' },
      retry: { type: 'string', default: '0.1' },
      tie: { type: 'string', default: '0.3' },
      skip: { type: 'string', default: '0.03' },
      think: { type: 'string', default: '0' },
      pool: { type: 'string', default: '10' },
      'api-nice': { type: 'string', default: '0' },
      target: { type: 'string', default: 'both' },
      'cpu-prof': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const base = {
    raters: Number(values.raters),
    seconds: Number(values.seconds),
    answers: Number(values.answers),
    rankings: Number(values.rankings),
    history: Number(values.history),
    retry: Number(values.retry),
    tie: Number(values.tie),
    skip: Number(values.skip),
    think: Number(values.think),
    pool: Number(values.pool),
    apiNice: Number(values['api-nice']),
    keep: values.keep,
    cpuProf: values['cpu-prof'] ? join(import.meta.dirname, 'out/prof') : undefined,
  };
  const targets: ('api' | 'floor')[] = values.target === 'both' ? ['floor', 'api'] : [values.target as 'api' | 'floor'];
  console.log(`server ${serverUrl}; ${base.raters} raters, ${base.seconds} s per run, K = ${base.answers}, N = ${base.rankings}, ${base.history} closed before, retry ${base.retry}, tie ${base.tie}, skip ${base.skip}, think ${base.think} ms, pool ${base.pool}`);
  const results: LoadResult[] = [];
  for (const open of values.open.split(',').map(Number)) {
    for (const target of targets) {
      const r = await runLoad({ ...base, open, target });
      results.push(r);
      console.log(describe(r));
      for (const c of r.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    }
    const [floor, api] = [results.find((r) => r.open === open && r.target === 'floor'), results.find((r) => r.open === open && r.target === 'api')];
    if (floor && api) console.log(`  api / floor at ${open} open: ${(api.rankingsPerSecond / floor.rankingsPerSecond).toFixed(2)}×`);
  }
  mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'out/load-raters.json'), JSON.stringify({ date: new Date().toISOString(), options: base, results }, null, 2));
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.error(`checks failed in ${failed.length} run(s)`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
