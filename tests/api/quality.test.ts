// Quality control through the API: gold comparisons handed out blind yet scored, per-rater
// statistics, Krippendorff's α on the dashboard and the arena against values worked out by hand
// (the same small dataset as tests/shared/quality.test.ts), and exclusions honoured by the export
// and by a newly frozen job dataset.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArenaResponse, DashboardResponse, DatasetSnapshot, RaterStatsResponse, RatingTaskResponse } from '@jielong/shared';
import { fieldOf, useHarness, type Person } from './harness.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'jielong-quality-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const h = useHarness('quality', { dataDir }, { queue: true });

async function people(raterCount: number) {
  const researcher = await h.person('Res', ['researcher']);
  const raters: Person[] = [];
  for (let i = 0; i < raterCount; i++) raters.push(await h.person(`R${i + 1}`));
  return { researcher, raters };
}

async function comparison(researcher: Person, projectId: string, texts: string[], extra: object = {}) {
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: `Prompt ${Math.random()}`, answers: texts.map((text) => ({ text })), ...extra });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().comparison as { id: string; status: string; goldOrder: string[][] | null; answers: { id: string; text: string }[] };
}

const nextTask = async (rater: Person, projectId: string) => {
  const res = await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as RatingTaskResponse;
};
/** Ranks the handed-out task by answer texts, best first ('|' joins a tie). */
const rankTask = async (rater: Person, task: NonNullable<RatingTaskResponse['task']>, byText: string[], timeSpentMs = 1000) => {
  const id = new Map(task.answers.map((a) => [a.text, a.id]));
  const res = await h.call(rater, 'POST', `/v1/comparisons/${task.comparisonId}/rankings`, { order: byText.map((g) => g.split('|').map((t) => id.get(t)!)), timeSpentMs });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
};

test('gold comparisons: same task shape and counts for the rater, never the last task, scored for the researcher, out of the export', async () => {
  const { researcher, raters } = await people(2);
  const projectId = await h.project(researcher, raters.map((r): [Person, ['rater']] => [r, ['rater']]), { ratersPerComparison: 2, goldRate: 1 });

  const bad = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'g', answers: [{ text: 'a' }, { text: 'b' }], goldOrder: [[0], [0]] });
  assert.equal(bad.statusCode, 400);
  assert.equal(fieldOf(bad), 'goldOrder.1.0');
  const short = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'g', answers: [{ text: 'a' }, { text: 'b' }], goldOrder: [[1]] });
  assert.equal(fieldOf(short), 'goldOrder');
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);

  const normal = await comparison(researcher, projectId, ['n1', 'n2']);
  await comparison(researcher, projectId, ['m1', 'm2']);
  const gold = await comparison(researcher, projectId, ['best', 'middle', 'worst'], { goldOrder: [[2], [1], [0]] });
  assert.equal(gold.status, 'gold');
  const text = new Map(gold.answers.map((a) => [a.id, a.text]));
  assert.deepEqual(gold.goldOrder!.map((g) => g.map((id) => text.get(id))), [['worst'], ['middle'], ['best']], 'indexes became answer ids');

  // goldRate 1: the first task of each rater is the gold one, shaped like any other, and the count of what is left drops by one per task
  const [r1, r2] = raters;
  const first = await nextTask(r1, projectId);
  assert.equal(first.task!.comparisonId, gold.id);
  assert.equal(first.remaining, 3);
  assert.deepEqual(Object.keys(first.task!).sort(), ['answers', 'comparisonId', 'expiresAt', 'prompt']);
  assert.deepEqual(Object.keys(first.task!.answers[0]).sort(), ['id', 'text']);
  assert.ok(!JSON.stringify(first).includes('gold'));
  assert.deepEqual((await nextTask(r1, projectId)).task!.comparisonId, gold.id, 'asked again: the same task');
  const submitted = await rankTask(r1, first.task!, ['worst', 'middle', 'best']);
  assert.equal(submitted.comparisonStatus, 'open', 'a gold comparison looks open, like the others');
  assert.ok(!JSON.stringify(submitted).includes('gold'));
  const history = await h.call(r1, 'GET', `/v1/projects/${projectId}/my-rankings`);
  assert.equal(history.statusCode, 200, history.body);
  assert.ok(!history.body.includes('gold'), "the rater's history does not say gold either");
  const second = await nextTask(r1, projectId);
  assert.notEqual(second.task!.comparisonId, gold.id);
  assert.equal(second.remaining, 2);

  const g2 = await nextTask(r2, projectId);
  assert.equal(g2.task!.comparisonId, gold.id, 'every rater gets gold once');
  await rankTask(r2, g2.task!, ['middle', 'worst', 'best']);

  // the rater ranks the two ordinary comparisons; gold is never handed out alone
  await rankTask(r1, second.task!, [second.task!.answers[0].text, second.task!.answers[1].text]);
  const third = await nextTask(r1, projectId);
  await rankTask(r1, third.task!, [third.task!.answers[0].text, third.task!.answers[1].text]);
  assert.deepEqual(await nextTask(r1, projectId), { task: null, remaining: 0, remainingCapped: false });
  const lateRater = await h.person('Late');
  await h.prisma.projectMember.create({ data: { projectId, userId: lateRater.id, roles: ['rater'] } });
  await h.prisma.comparison.updateMany({ where: { projectId, status: 'open' }, data: { status: 'complete' } });
  assert.deepEqual(await nextTask(lateRater, projectId), { task: null, remaining: 0, remainingCapped: false }, 'nothing ordinary left: no gold either');

  const stats = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/rater-stats`)).json() as RaterStatsResponse;
  assert.equal(stats.goldComparisons, 1);
  const of = (p: Person) => stats.items.find((s) => s.raterId === p.id)!;
  assert.deepEqual(of(r1).gold, { rankings: 1, compared: 3, agreed: 3, rate: 1 });
  // worst > middle > best against middle > worst > best: only worst–middle is wrong
  assert.deepEqual(of(r2).gold, { rankings: 1, compared: 3, agreed: 2, rate: 2 / 3 });
  assert.equal((await h.call(r1, 'GET', `/v1/projects/${projectId}/rater-stats`)).statusCode, 403);

  const exported = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/preferences`)).body.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(exported.length, 2, 'the two ordinary rankings, one pair each');
  assert.ok(exported.every((row) => !['best', 'middle', 'worst'].includes(row.chosen)), 'gold rankings are not data');
  assert.ok(exported.some((row) => row.prompt !== undefined && [normal.answers[0].text, normal.answers[1].text].includes(row.chosen)));
});

test('goldRate 0: gold is never handed out', async () => {
  const { researcher, raters } = await people(1);
  const projectId = await h.project(researcher, [[raters[0], ['rater']]], { goldRate: 0 });
  await comparison(researcher, projectId, ['g1', 'g2'], { goldOrder: [[0], [1]] });
  const plain = await comparison(researcher, projectId, ['p1', 'p2']);
  for (let i = 0; i < 5; i++) {
    const got = await nextTask(raters[0], projectId);
    assert.equal(got.task!.comparisonId, plain.id);
  }
  assert.equal((await h.call(researcher, 'PATCH', `/v1/projects/${projectId}`, { goldRate: 1.5 })).json().error.field, 'goldRate');
});

/** The hand-worked dataset: c1 (a, b, c) ranked by R1, R2, R3; c2 (x, y) by R1, R2. */
async function handDataset() {
  const { researcher, raters } = await people(3);
  const projectId = await h.project(researcher, raters.map((r): [Person, ['rater']] => [r, ['rater']]), { ratersPerComparison: 3, goldRate: 0 });
  const [A, B] = await Promise.all(['model-A', 'model-B'].map((name) => h.prisma.model.create({ data: { projectId, name, kind: 'sft', artifactPath: 'm' } })));
  const create = async (answers: { text: string; modelId?: string }[], requiredRankings: number) => {
    const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: `P ${Math.random()}`, answers, requiredRankings });
    return res.json().comparison.id as string;
  };
  const c1 = await create([{ text: 'a', modelId: A.id }, { text: 'b', modelId: B.id }, { text: 'c', modelId: B.id }], 3);
  const c2 = await create([{ text: 'x', modelId: A.id }, { text: 'y', modelId: B.id }], 2);
  const [r1, r2, r3] = raters;
  const plan: [Person, string, string[]][] = [
    [r1, c1, ['a', 'b', 'c']],
    [r2, c1, ['a', 'c', 'b']],
    [r3, c1, ['a', 'b|c']],
    [r1, c2, ['x', 'y']],
    [r2, c2, ['y', 'x']],
  ];
  for (const [rater, comparisonId] of [[r1, c1], [r2, c1], [r3, c1], [r1, c2], [r2, c2]] as const) {
    const task = (await nextTask(rater, projectId)).task!;
    assert.equal(task.comparisonId, comparisonId);
    await rankTask(rater, task, plan.find(([p, c]) => p === rater && c === comparisonId)![2]);
  }
  return { researcher, raters, projectId, A, B };
}

test("dashboard α, rater statistics and arena scores on the hand-worked dataset", async () => {
  const { researcher, raters, projectId, A, B } = await handDataset();
  const dash = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=3`)).json() as DashboardResponse;
  // units [1,1,1] [1,1,1] [1,−1,0] [1,−1] and their mirrors → α = 1 − 21·10/280 = 0.25 (see tests/shared/quality.test.ts)
  assert.ok(Math.abs(dash.reliability.alpha! - 0.25) < 1e-12, JSON.stringify(dash.reliability));
  assert.equal(dash.reliability.units, 4);
  assert.equal(dash.reliability.daily.length, 3);
  assert.deepEqual(dash.reliability.daily.slice(0, 2).map((d) => d.alpha), [null, null], 'nothing ranked before today');
  assert.ok(Math.abs(dash.reliability.daily[2].alpha! - 0.25) < 1e-12);

  const stats = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/rater-stats`)).json() as RaterStatsResponse;
  const [r1, r2, r3] = raters.map((p) => stats.items.find((s) => s.raterId === p.id)!);
  // R1: c1 with R2 2/3, with R3 2/3, c2 with R2 0/1 → 4/7
  assert.deepEqual(r1.agreement, { compared: 7, agreed: 4, rate: 4 / 7 });
  assert.deepEqual(r2.agreement, { compared: 7, agreed: 4, rate: 4 / 7 });
  assert.deepEqual(r3.agreement, { compared: 6, agreed: 4, rate: 4 / 6 });
  assert.deepEqual([r1.rankings, r1.skips, r1.skipRate, r1.medianTimeMs, r1.gold.rate], [2, 0, 0, 1000, null]);

  // battles (A's answers a, x; B's b, c, y): R1 a>b, a>c, x>y; R2 a>c, a>b, y>x; R3 a>b, a>c (b|c is one model)
  // A won 7 of 8 → strengths (7 + ½) : (1 + ½) = 5, scores 1000 ± 200·log10 5
  const arena = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/arena?rounds=100&seed=3`)).json() as ArenaResponse;
  assert.equal(arena.rankings, 5);
  assert.equal(arena.battles, 8);
  assert.deepEqual(arena.models.map((m) => m.modelName), ['model-A', 'model-B']);
  const [a, b] = arena.models;
  assert.equal(a.modelId, A.id);
  assert.equal(b.modelId, B.id);
  assert.ok(Math.abs(a.score - (1000 + 200 * Math.log10(5))) < 1e-6, String(a.score));
  assert.ok(Math.abs(b.score - (1000 - 200 * Math.log10(5))) < 1e-6, String(b.score));
  assert.deepEqual([a.wins, a.losses, a.ties], [7, 1, 0]);
  assert.ok(a.lower <= a.score && a.score <= a.upper && a.upper > a.lower);
  assert.deepEqual((await h.call(researcher, 'GET', `/v1/projects/${projectId}/arena?rounds=100&seed=3`)).json(), arena, 'same seed, same intervals');
  assert.equal((await h.call(researcher, 'GET', `/v1/projects/${projectId}/arena?rounds=5`)).json().error.field, 'rounds');
});

test("an excluded rater's rankings leave the export, the arena, α and a new job's dataset, which records the exclusion", async () => {
  const { researcher, raters, projectId } = await handDataset();
  const [r1, r2] = raters;
  const pairsOf = async () => (await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/preferences`)).body.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal((await pairsOf()).length, 3 + 3 + 2 + 1 + 1);

  // bad input names the field and stores nothing
  const url = `/v1/projects/${projectId}/rater-exclusions`;
  const backwards = await h.call(researcher, 'POST', url, { raterId: r2.id, from: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' });
  assert.equal(backwards.statusCode, 400);
  assert.equal(fieldOf(backwards), 'until');
  const stranger = await h.call(researcher, 'POST', url, { raterId: '00000000-0000-4000-8000-000000000000' });
  assert.equal(stranger.statusCode, 404);
  assert.equal(fieldOf(stranger), 'raterId');
  assert.equal((await h.call(r1, 'POST', url, { raterId: r2.id })).statusCode, 403);
  assert.equal(await h.prisma.raterExclusion.count({ where: { projectId } }), 0);

  // R2 is excluded altogether (twice the same request: one exclusion)
  const key = { 'idempotency-key': 'exclude-r2' };
  const made = await h.call(researcher, 'POST', url, { raterId: r2.id, reason: 'random clicking' }, key);
  assert.equal(made.statusCode, 201, made.body);
  await h.call(researcher, 'POST', url, { raterId: r2.id, reason: 'random clicking' }, key);
  assert.equal(await h.prisma.raterExclusion.count({ where: { projectId } }), 1);
  const exclusion = made.json().exclusion;
  assert.equal(exclusion.raterName, 'R2');

  const pairs = await pairsOf();
  assert.equal(pairs.length, 3 + 2 + 1, "R2's c1 (3 pairs) and c2 (1 pair) are gone");
  assert.ok(!pairs.some((p) => p.chosen === 'y'), 'only R2 put y first');
  const arena = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/arena`)).json() as ArenaResponse;
  assert.equal(arena.rankings, 3);
  assert.deepEqual([arena.models[0].wins, arena.models[0].losses], [5, 0]);
  const stats = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/rater-stats`)).json() as RaterStatsResponse;
  const s2 = stats.items.find((s) => s.raterId === r2.id)!;
  assert.equal(s2.excludedRankings, 2, 'statistics still show the excluded rater');
  assert.equal(s2.exclusions[0].reason, 'random clicking');
  // α without R2: c1 units [1,1] [1,1] [1,0] and mirrors (c2 has one ranking left): n = 12, n₁ = n₋₁ = 5, n₀ = 2,
  // disagreement 4 → 1 − 11·4/(144 − 54) = 23/45
  const dash = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=1`)).json() as DashboardResponse;
  assert.ok(Math.abs(dash.reliability.alpha! - 23 / 45) < 1e-12, JSON.stringify(dash.reliability));

  // a reward job frozen now trains without R2 and says so
  const base = await h.prisma.model.create({ data: { projectId, name: 'base', kind: 'base', artifactPath: 'models/none' } });
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'reward', baseModelId: base.id });
  assert.equal(res.statusCode, 201, res.body);
  const snapshot = res.json().job.datasetSnapshot as DatasetSnapshot;
  await h.call(researcher, 'POST', `/v1/jobs/${res.json().job.id}/cancel`);
  const rows = readFileSync(join(dataDir, snapshot.path), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 6);
  assert.ok(!rows.some((r) => r.chosen === 'y'));
  assert.deepEqual(snapshot.excluded, {
    rankings: 2,
    exclusions: [{ id: exclusion.id, raterId: r2.id, raterName: 'R2', from: null, until: null, reason: 'random clicking' }],
  });

  // a time range: R1's rankings made before a moment are out, later ones stay
  const c2Ranking = await h.prisma.ranking.findFirstOrThrow({ where: { raterId: r1.id, comparison: { answers: { some: { text: 'x' } } } } });
  const later = new Date(Date.now() + 60_000);
  await h.prisma.ranking.update({ where: { id: c2Ranking.id }, data: { createdAt: later } });
  const ranged = await h.call(researcher, 'POST', url, { raterId: r1.id, until: new Date(later.getTime() - 1000).toISOString() });
  assert.equal(ranged.statusCode, 201, ranged.body);
  const left = await pairsOf();
  assert.deepEqual(left.map((p) => `${p.chosen}>${p.rejected}`).sort(), ['a>b', 'a>c', 'x>y'], "R3's c1 (b, c tied) and R1's later c2");

  // lifting both exclusions brings everything back
  for (const id of [exclusion.id, ranged.json().exclusion.id]) assert.equal((await h.call(researcher, 'DELETE', `/v1/rater-exclusions/${id}`)).statusCode, 200);
  assert.equal((await pairsOf()).length, 10);
  assert.deepEqual((await h.call(researcher, 'GET', url)).json(), { items: [] });
});
