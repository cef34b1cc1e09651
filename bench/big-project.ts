// A project with 1,000,000 rankings (issue 13): seeds it straight through pg (rating/seed.ts), then
// measures, against the API as its own process, the dashboard (goal < 500 ms, asked again every second
// while it says it is not up to date, as the web page does, then ten times) and the preference
// export (goal ≥ 50,000 pairs/s, streaming in constant memory: the API's resident memory is
// sampled while it streams).
//
//   npx tsx bench/big-project.ts [--rankings 1000000] [--open 10000] [--raters 300] [--keep] [--export-seconds 0 (0: all)]
//   npx tsx bench/big-project.ts --db postgresql://…/load_big_…   (measure a kept database again)
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyMigrations } from '@jielong/db';
import { createEmptyDatabase } from '../tests/helpers/db.ts';
import { seedRatingProject } from './rating/seed.ts';
import { startApi } from './rating/api-process.ts';

const { values } = parseArgs({
  options: {
    rankings: { type: 'string', default: '1000000' },
    open: { type: 'string', default: '10000' },
    raters: { type: 'string', default: '300' },
    db: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'export-seconds': { type: 'string', default: '0' },
  },
});

/** Resident memory of a process (MB), from /proc. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function get(url: string, token: string, onChunk?: (chunk: Buffer) => boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (onChunk) {
          if (!onChunk(c)) req.destroy();
        } else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body: '' }));
    });
    req.on('error', reject);
  });
}

const N = 3;
let url = values.db;
let drop: (() => Promise<void>) | undefined;
const admin = () => new pg.Client({ connectionString: url });
if (!url) {
  const db = await createEmptyDatabase('load_big');
  url = db.url;
  drop = db.drop;
  await applyMigrations(url, { createDatabase: false });
  const c = admin();
  await c.connect();
  const t = performance.now();
  await seedRatingProject(c, { raters: Number(values.raters), open: Number(values.open), answers: 4, rankingsPerComparison: N, complete: Math.ceil(Number(values.rankings) / N), historyDays: 365 });
  console.log(`seeded ${url} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  // as autovacuum would on a server that runs it (the test server does not): without it every scan
  // of "Comparison" reads its seeding's dead rows too, and counts cannot use an index alone
  await c.query('VACUUM ANALYZE');
  await c.end();
} else {
  await applyMigrations(url, { createDatabase: false });
}

const c = admin();
await c.connect();
const { rows: [project] } = await c.query(`SELECT p.id, (SELECT count(*)::int FROM "Ranking" r JOIN "Comparison" x ON x.id = r."comparisonId" WHERE x."projectId" = p.id) AS rankings FROM "Project" p WHERE name = 'load'`);
const { rows: [researcher] } = await c.query(`SELECT t."userId" FROM "ProjectMember" m JOIN "ApiToken" t ON t."userId" = m."userId" WHERE m."projectId" = $1 AND 'researcher' = ANY(m.roles)`, [project.id]);
// the seed's tokens are not kept: give the researcher a fresh one
const token = 'jl_big_' + Math.random().toString(36).slice(2);
const { createHash } = await import('node:crypto');
await c.query(`INSERT INTO "ApiToken"(id, "userId", name, prefix, "tokenHash") VALUES (gen_random_uuid(), $1, 'big', left($2, 9), $3)`, [researcher.userId, token, createHash('sha256').update(token).digest('hex')]);
await c.end();
console.log(`project ${project.id}: ${project.rankings} rankings`);

const api = await startApi(url);
const pid = api.pid;
try {
  const base = `${api.url}/v1/projects/${project.id}`;
  // as the web page does: ask, and while the answer says it is not up to date (the API folds the
  // seed's changes in the background), ask again; then ten more once it is
  const dashboard: { ms: number; upToDate: boolean }[] = [];
  const started = performance.now();
  let caughtUpMs = NaN;
  for (let after = 0; after < 10; ) {
    const t = performance.now();
    const res = await get(`${base}/dashboard`, token);
    if (res.status !== 200) throw new Error(`dashboard ${res.status} ${res.body.slice(0, 300)}`);
    const body = JSON.parse(res.body) as { upToDate: boolean; totals: unknown; agreement: unknown };
    dashboard.push({ ms: performance.now() - t, upToDate: body.upToDate });
    if (!body.upToDate) await new Promise((r) => setTimeout(r, 1000));
    else if (after++ === 0) {
      caughtUpMs = performance.now() - started;
      console.log(`dashboard totals ${JSON.stringify(body.totals)}, agreement ${JSON.stringify(body.agreement)}`);
    }
  }
  const times = (xs: typeof dashboard) => xs.map((d) => d.ms).sort((a, b) => a - b);
  const behind = times(dashboard.filter((d) => !d.upToDate));
  const upToDate = times(dashboard.filter((d) => d.upToDate));
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? NaN;
  console.log(
    `dashboard (goal < 500 ms): first ${dashboard[0].ms.toFixed(0)} ms; ${behind.length} answers while the background fold caught up, median ${median(behind).toFixed(0)} ms, worst ${(behind.at(-1) ?? NaN).toFixed(0)} ms; ` +
      `up to date after ${(caughtUpMs / 1000).toFixed(1)} s; then median ${median(upToDate).toFixed(0)} ms, worst ${(upToDate.at(-1) ?? NaN).toFixed(0)} ms`,
  );

  let lines = 0;
  let bytes = 0;
  let peak = rssMb(pid);
  const before = peak;
  const limitMs = Number(values['export-seconds']) * 1000;
  const t = performance.now();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
  const res = await get(`${base}/export/preferences`, token, (chunk) => {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    return !limitMs || performance.now() - t < limitMs;
  });
  clearInterval(sampler);
  const s = (performance.now() - t) / 1000;
  console.log(`export: ${res.status}, ${lines} pairs, ${(bytes / 1e6).toFixed(0)} MB in ${s.toFixed(1)} s = ${(lines / s).toFixed(0)} pairs/s (goal ≥ 50,000); API resident memory ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB while streaming`);
  mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
  writeFileSync(
    join(import.meta.dirname, 'out/big-project.json'),
    JSON.stringify({ date: new Date().toISOString(), rankings: project.rankings, dashboard, caughtUpMs, export: { pairs: lines, bytes, seconds: s, pairsPerSecond: lines / s, rssBeforeMb: before, rssPeakMb: peak } }, null, 2),
  );
} finally {
  await api.stop();
  if (drop && !values.keep) await drop();
  else console.log(`kept database ${url}`);
}
