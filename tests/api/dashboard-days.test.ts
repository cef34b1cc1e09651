// The dashboard keeps rankings per day and α per day incrementally (services/dashboard-days.ts):
// after every kind of change (rankings written on past days, revised, taken back, a rater excluded
// and let back in, a comparison deleted) its answer must be the one computed from scratch over
// every ranking, as the dashboard did before it kept anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { reliability, type DashboardResponse, type RankingOrder } from '@jielong/shared';
import { buildApp } from '@jielong/api';
import { useHarness, type Person } from './harness.ts';

// this file's API folds only in requests; the last test starts a second API that folds in the background
const h = useHarness('dashdays', { dashboardFoldIntervalMs: 0 });
const DAY_MS = 24 * 3600_000;
const DAYS = 5;

let seed = 11;
const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];

/** A random order of the answers with ties, sometimes leaving one out. */
function randomOrder(answers: string[]): RankingOrder {
  const groups: string[][] = [];
  for (const id of [...answers].sort(() => random() - 0.5)) {
    if (random() < 0.1) continue;
    if (groups.length && random() < 0.3) groups[groups.length - 1].push(id);
    else groups.push([id]);
  }
  return groups;
}

/** The dashboard's rankings per day and α, from scratch over every ranking of the project. */
async function fromScratch(projectId: string, dates: string[]) {
  const rankings = await h.prisma.ranking.findMany({ where: { skipped: false, comparison: { projectId } }, include: { comparison: { select: { requiredRankings: true } } } });
  const exclusions = await h.prisma.raterExclusion.findMany({ where: { projectId } });
  const kept = rankings.filter(
    (r) => r.comparison.requiredRankings > 1 && !exclusions.some((e) => e.raterId === r.raterId && (!e.from || r.createdAt >= e.from) && (!e.until || r.createdAt < e.until)),
  );
  const alphaUpTo = (end: number) => {
    const orders = new Map<string, RankingOrder[]>();
    for (const r of kept) if (r.createdAt.getTime() < end) orders.set(r.comparisonId, [...(orders.get(r.comparisonId) ?? []), r.order as RankingOrder]);
    return reliability(orders.values());
  };
  const overall = alphaUpTo(Infinity);
  // the totals as the dashboard summed them over every comparison before it kept them
  const [totals] = await h.prisma.$queryRaw<{ open: number; complete: number; gold: number; rankings: number; skipped: number; comparisons: number; compared: number; agreed: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'open')::int AS open, count(*) FILTER (WHERE status = 'complete')::int AS complete,
      count(*) FILTER (WHERE status = 'gold')::int AS gold,
      coalesce(sum("rankingCount"), 0)::int AS rankings, coalesce(sum("skipCount"), 0)::int AS skipped,
      count(*) FILTER (WHERE "requiredRankings" > 1 AND "comparedPairs" > 0)::int AS comparisons,
      coalesce(sum("comparedPairs") FILTER (WHERE "requiredRankings" > 1), 0)::int AS compared,
      coalesce(sum("agreedPairs") FILTER (WHERE "requiredRankings" > 1), 0)::int AS agreed
    FROM "Comparison" WHERE "projectId" = ${projectId}`;
  return {
    totals: {
      comparisons: { open: totals.open, complete: totals.complete, gold: totals.gold },
      rankings: totals.rankings,
      skippedRankings: totals.skipped,
      agreement: { comparisons: totals.comparisons, comparedPairs: totals.compared, agreedPairs: totals.agreed },
    },
    rankings: dates.map((date) => rankings.filter((r) => r.createdAt.toISOString().startsWith(date)).length),
    alpha: overall.alpha,
    units: overall.units,
    daily: dates.map((date) => alphaUpTo(Date.parse(date) + DAY_MS).alpha),
  };
}

async function assertSameAsFromScratch(researcher: Person, projectId: string, what: string) {
  const dash = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=${DAYS}`)).json() as DashboardResponse;
  const dates = dash.daily.map((d) => d.date);
  const expected = await fromScratch(projectId, dates);
  const close = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) < 1e-12);
  assert.deepEqual(dash.daily.map((d) => d.rankings), expected.rankings, `${what}: rankings per day`);
  const { comparisons, rankings, skippedRankings } = dash.totals;
  const { comparisons: agreed, comparedPairs, agreedPairs } = dash.agreement;
  assert.deepEqual({ comparisons, rankings, skippedRankings, agreement: { comparisons: agreed, comparedPairs, agreedPairs } }, expected.totals, `${what}: totals`);
  assert.ok(close(dash.reliability.alpha, expected.alpha), `${what}: α ${dash.reliability.alpha} vs ${expected.alpha}`);
  assert.equal(dash.reliability.units, expected.units, `${what}: units`);
  dash.reliability.daily.forEach((d, i) => assert.ok(close(d.alpha, expected.daily[i]), `${what}: α up to ${d.date} ${d.alpha} vs ${expected.daily[i]}`));
  assert.ok(expected.alpha !== null, `${what}: the data gives α a value`);
}

test('α and rankings per day, kept incrementally, equal the from-scratch ones after every kind of change', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const raters: Person[] = [];
  for (let i = 0; i < 6; i++) raters.push(await h.person(`R${i + 1}`));
  const projectId = await h.project(researcher, raters.map((r): [Person, ['rater']] => [r, ['rater']]));
  const today = Date.parse(new Date().toISOString().slice(0, 10));

  // 40 comparisons of 2–4 answers; every tenth is an import's (N = 1: out of α, in the counts)
  const comparisons: { id: string; answers: string[] }[] = [];
  for (let i = 0; i < 40; i++) {
    const prompt = await h.prisma.prompt.create({ data: { projectId, text: `p${i}`, textHash: `p${i}`, source: 'written' } });
    const answers = Array.from({ length: 2 + (i % 3) }, () => randomUUID());
    const c = await h.prisma.comparison.create({
      data: { projectId, promptId: prompt.id, requiredRankings: i % 10 === 9 ? 1 : 3, answers: { create: answers.map((id, position) => ({ id, position, text: `a${position}` })) } },
    });
    comparisons.push({ id: c.id, answers });
  }
  /** rankings by random raters on random days of the window (and one before it), some skipped */
  const rankSome = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const c = pick(comparisons);
      const createdAt = new Date(today - Math.floor(random() * (DAYS + 1)) * DAY_MS + Math.floor(random() * DAY_MS));
      const skipped = random() < 0.1;
      await h.prisma.$executeRaw`
        INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", skipped, "createdAt")
        VALUES (${randomUUID()}, ${c.id}, ${pick(raters).id}, ${JSON.stringify(skipped ? [] : randomOrder(c.answers))}::jsonb, ${skipped}, ${createdAt})
        ON CONFLICT ("comparisonId", "raterId") DO NOTHING`;
    }
  };

  await rankSome(80);
  await assertSameAsFromScratch(researcher, projectId, 'first dashboard');
  await assertSameAsFromScratch(researcher, projectId, 'again, nothing changed');

  await rankSome(40);
  await assertSameAsFromScratch(researcher, projectId, 'more rankings, on past days too');

  await h.prisma.comparison.updateMany({ where: { id: { in: comparisons.slice(0, 8).map((c) => c.id) } }, data: { status: 'complete' } });
  await h.prisma.comparison.updateMany({ where: { id: { in: comparisons.slice(30, 33).map((c) => c.id) } }, data: { comparedPairs: 7, agreedPairs: 3 } });
  await assertSameAsFromScratch(researcher, projectId, 'comparisons closed, agreement kept');

  const some = await h.prisma.ranking.findMany({ where: { skipped: false, comparison: { projectId } }, take: 15, orderBy: { id: 'asc' } });
  for (const r of some.slice(0, 10)) {
    const c = comparisons.find((x) => x.id === r.comparisonId)!;
    await h.prisma.ranking.update({ where: { id: r.id }, data: { order: randomOrder(c.answers), changedAt: new Date() } });
  }
  await assertSameAsFromScratch(researcher, projectId, 'revised');

  await h.prisma.ranking.deleteMany({ where: { id: { in: some.slice(10).map((r) => r.id) } } });
  await assertSameAsFromScratch(researcher, projectId, 'taken back');

  const exclusion = await h.prisma.raterExclusion.create({ data: { projectId, raterId: raters[0].id } });
  const partly = await h.prisma.raterExclusion.create({ data: { projectId, raterId: raters[1].id, from: new Date(today - 2 * DAY_MS), until: new Date(today) } });
  await assertSameAsFromScratch(researcher, projectId, 'two raters excluded');
  await h.prisma.raterExclusion.update({ where: { id: partly.id }, data: { from: null } });
  await assertSameAsFromScratch(researcher, projectId, 'an exclusion widened');
  await h.prisma.raterExclusion.delete({ where: { id: exclusion.id } });
  await assertSameAsFromScratch(researcher, projectId, 'an exclusion removed');

  // a prompt deleted takes its comparison and rankings with it
  const gone = comparisons.splice(0, 2);
  await h.prisma.prompt.deleteMany({ where: { comparisons: { some: { id: { in: gone.map((c) => c.id) } } } } });
  await assertSameAsFromScratch(researcher, projectId, 'comparisons deleted');

  // nothing left behind once the project goes
  await h.prisma.project.delete({ where: { id: projectId } });
  for (const table of ['DashboardChange', 'ComparisonDashboard', 'DashboardDay']) {
    const [{ n }] = await h.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table}" WHERE "projectId" = $1`, projectId);
    assert.equal(n, 0, `${table} of the deleted project`);
  }
});

test('a dashboard answers at once however much is pending: it folds a few comparisons, says it is not up to date, and the background fold counts the rest', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const raters: Person[] = [];
  for (let i = 0; i < 3; i++) raters.push(await h.person(`B${i + 1}`));
  const projectId = await h.project(researcher, raters.map((r): [Person, ['rater']] => [r, ['rater']]));
  // 1,500 comparisons (three times what a request folds), each ranked by three raters on past days
  await h.prisma.$executeRaw`
    WITH p AS (
      INSERT INTO "Prompt"(id, "projectId", text, "textHash", source)
      SELECT gen_random_uuid()::text, ${projectId}, 'bulk ' || i, 'bulk ' || i, 'written' FROM generate_series(1, 1500) i RETURNING id
    ), c AS (
      INSERT INTO "Comparison"(id, "projectId", "promptId", "requiredRankings") SELECT gen_random_uuid()::text, ${projectId}, p.id, 3 FROM p RETURNING id
    ), a AS (
      INSERT INTO "Answer"(id, "comparisonId", position, text) SELECT c.id || ':' || k, c.id, k, 'a' || k FROM c, generate_series(0, 1) k
    )
    INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", skipped, "createdAt")
    SELECT gen_random_uuid()::text, c.id, r, CASE WHEN random() < 0.7 THEN jsonb_build_array(jsonb_build_array(c.id || ':0'), jsonb_build_array(c.id || ':1'))
      ELSE jsonb_build_array(jsonb_build_array(c.id || ':1'), jsonb_build_array(c.id || ':0')) END, false, now() - random() * interval '3 days'
    FROM c, unnest(${raters.map((r) => r.id)}::text[]) r`;
  // and a third of them with their agreement unknown, as after an upgrade
  await h.prisma.$executeRaw`UPDATE "Comparison" SET "comparedPairs" = NULL, "agreedPairs" = NULL WHERE "projectId" = ${projectId} AND random() < 0.33`;

  const first = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=${DAYS}`)).json() as DashboardResponse;
  assert.equal(first.upToDate, false);
  assert.ok(first.totals.rankings > 0 && first.totals.rankings < 4500, `a request folds only some: ${first.totals.rankings} of 4,500 rankings counted`);

  const folder = await buildApp({ prisma: h.prisma, dashboardFoldIntervalMs: 50 });
  try {
    await folder.ready();
    const pendingOf = async () => {
      const [{ changes, unknown }] = await h.prisma.$queryRaw<{ changes: number; unknown: number }[]>`
        SELECT (SELECT count(*) FROM "DashboardChange" WHERE "projectId" = ${projectId})::int AS changes,
          (SELECT count(*) FROM "Comparison" WHERE "projectId" = ${projectId} AND "comparedPairs" IS NULL)::int AS unknown`;
      return changes + unknown;
    };
    // counted by the background fold alone: no dashboard is asked for meanwhile
    for (const until = Date.now() + 60_000; (await pendingOf()) > 0; ) {
      assert.ok(Date.now() < until, `the background fold left ${await pendingOf()} changes and unknown agreements after 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await folder.close();
  }
  const after = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=${DAYS}`)).json() as DashboardResponse;
  assert.equal(after.upToDate, true);
  assert.equal(after.totals.rankings, 4500);
  await assertSameAsFromScratch(researcher, projectId, 'after the background fold');
});
