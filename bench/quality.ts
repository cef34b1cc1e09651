// What quality control costs: rating hand-out + submit with gold mixed in, against the same
// project with goldRate 0 (the anchor, same run, same database), and the arena's bootstrap time.
// `npx tsx bench/quality.ts [--comparisons 2000] [--gold 50] [--tasks 200] [--rankings 10000]`
import { parseArgs } from 'node:util';
import { arenaScores, bradleyTerry, type Battle } from '../packages/shared/src/index.ts';
import { buildApp } from '../apps/api/src/index.ts';
import { createTestDatabase } from '../tests/helpers/db.ts';
import { newSecret, sha256 } from '../apps/api/src/secrets.ts';

const { values } = parseArgs({
  options: { comparisons: { type: 'string', default: '2000' }, gold: { type: 'string', default: '50' }, tasks: { type: 'string', default: '200' }, rankings: { type: 'string', default: '10000' } },
});
const [nComparisons, nGold, nTasks, nRankings] = [values.comparisons, values.gold, values.tasks, values.rankings].map(Number);

const db = await createTestDatabase('bench_quality');
const app = await buildApp({ prisma: db.prisma });
await app.ready();
try {
  const user = await db.prisma.user.create({ data: { email: 'r@bench', displayName: 'R', roles: ['researcher'], passwordHash: 'x' } });
  const token = newSecret('jl_');
  await db.prisma.apiToken.create({ data: { userId: user.id, name: 'b', prefix: token.slice(0, 9), tokenHash: sha256(token) } });
  const headers = { authorization: `Bearer ${token}` };

  /** ms per hand-out + submit over `nTasks` tasks of a fresh project. */
  async function perTask(goldRate: number): Promise<{ ms: number; gold: number }> {
    const project = await db.prisma.project.create({ data: { name: `p${goldRate}`, goldRate, ratersPerComparison: 1, createdById: user.id, members: { create: { userId: user.id, roles: ['researcher', 'rater'] } } } });
    for (let i = 0; i < nComparisons + nGold; i++) {
      const prompt = await db.prisma.prompt.create({ data: { projectId: project.id, text: `q${i}`, textHash: `${goldRate}-${i}`, source: 'written' } });
      const ids = [crypto.randomUUID(), crypto.randomUUID()];
      await db.prisma.comparison.create({
        data: {
          projectId: project.id,
          promptId: prompt.id,
          requiredRankings: 1,
          ...(i < nGold ? { status: 'gold', goldOrder: [[ids[0]], [ids[1]]] } : {}),
          answers: { create: ids.map((id, position) => ({ id, position, text: `a${position}` })) },
        },
      });
    }
    const t = performance.now();
    let gold = 0;
    for (let i = 0; i < nTasks; i++) {
      const { task } = (await app.inject({ method: 'POST', url: `/v1/projects/${project.id}/rating-task`, headers })).json();
      if ((await db.prisma.comparison.count({ where: { id: task.comparisonId, status: 'gold' } })) > 0) gold++;
      const res = await app.inject({ method: 'POST', url: `/v1/comparisons/${task.comparisonId}/rankings`, headers, payload: { order: task.answers.map((a: { id: string }) => [a.id]) } });
      if (res.statusCode !== 201) throw new Error(res.body);
    }
    // the gold check above is bench bookkeeping, not part of a round trip: time as many alone and take both off
    const c = performance.now();
    for (let i = 0; i < nTasks; i++) await db.prisma.comparison.count({ where: { id: project.id, status: 'gold' } });
    const check = performance.now() - c;
    return { ms: (performance.now() - t - 2 * check) / nTasks, gold };
  }

  const anchor = await perTask(0);
  const mixed = await perTask(0.1);
  const allGold = await perTask(1);
  console.log(`hand-out + submit, ${nComparisons} comparisons + ${nGold} gold, ${nTasks} tasks:`);
  console.log(`  goldRate 0   (anchor) ${anchor.ms.toFixed(1)} ms/task`);
  console.log(`  goldRate 0.1          ${mixed.ms.toFixed(1)} ms/task  ×${(mixed.ms / anchor.ms).toFixed(2)}  (${mixed.gold} gold handed out)`);
  console.log(`  goldRate 1            ${allGold.ms.toFixed(1)} ms/task  ×${(allGold.ms / anchor.ms).toFixed(2)}  (${allGold.gold} gold handed out)`);

  // the arena on synthetic rankings of K = 4 answers from 8 models of known strength
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const strength = Array.from({ length: 8 }, (_, i) => i * 0.3);
  const rankings: Battle[][] = Array.from({ length: nRankings }, () => {
    const ms = Array.from({ length: 4 }, () => Math.floor(random() * 8));
    const noisy = ms.map((m) => ({ m, s: strength[m] + Math.log(1 / random() - 1) })).sort((a, b) => b.s - a.s);
    const out: Battle[] = [];
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) if (noisy[i].m !== noisy[j].m) out.push({ a: `m${noisy[i].m}`, b: `m${noisy[j].m}`, score: 1 });
    return out;
  });
  const f = performance.now();
  bradleyTerry(rankings.flat());
  const fit = performance.now() - f;
  const b = performance.now();
  const scores = arenaScores(rankings, { rounds: 200, seed: 1 });
  const boot = performance.now() - b;
  console.log(`arena, ${nRankings} rankings (${rankings.flat().length} battles), 8 models:`);
  console.log(`  one Bradley–Terry fit (anchor) ${fit.toFixed(0)} ms; fit + 200 bootstrap rounds ${boot.toFixed(0)} ms  ×${(boot / fit).toFixed(0)}`);
  console.log(`  widest 95% interval ${Math.max(...scores.map((s) => s.upper - s.lower)).toFixed(1)} points; order ${scores.map((s) => s.model).join(' > ')}`);
} finally {
  await app.close();
  await db.drop();
}
