// A rater's history: changing a ranking until a job's dataset is frozen with it, and undoing the
// last submission within the undo window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { fieldOf, useHarness, type Person } from './harness.ts';

const UNDO_MS = 1500;
const h = useHarness('revisiting', { undoWindowMs: UNDO_MS }, { queue: true });

async function setup(ratersPerComparison = 1) {
  const researcher = await h.person('Res', ['researcher']);
  const rater = await h.person('Rater', ['rater']);
  const other = await h.person('Other', ['rater']);
  const projectId = await h.project(researcher, [[rater, ['rater']], [other, ['rater']]], {
    ratersPerComparison,
    ratingScales: [{ key: 'helpfulness', label: 'Helpfulness', min: 1, max: 7 }],
  });
  return { researcher, rater, other, projectId };
}

async function comparison(researcher: Person, projectId: string, texts: string[]) {
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: `Prompt ${Math.random()}`, answers: texts.map((text) => ({ text })) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().comparison as { id: string; answers: { id: string }[] };
}

/** Takes the next task and ranks it in the order shown. */
async function rankNext(rater: Person, projectId: string, extra: object = {}) {
  const { task } = (await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json();
  const shown = task.answers.map((a: { id: string }) => a.id) as string[];
  const res = await h.call(rater, 'POST', `/v1/comparisons/${task.comparisonId}/rankings`, { order: shown.map((id) => [id]), ...extra });
  assert.equal(res.statusCode, 201, res.body);
  return { comparisonId: task.comparisonId as string, shown, ranking: res.json().ranking as { id: string } };
}

test('the history lists the rater\'s own rankings, answers in the order shown; a change is stored, even after the comparison closed', async () => {
  const { researcher, rater, other, projectId } = await setup(1);
  await comparison(researcher, projectId, ['a', 'b', 'c']);
  await comparison(researcher, projectId, ['d', 'e']);
  const first = await rankNext(rater, projectId, { ratings: {} });
  const second = await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
  const skipped = await h.call(rater, 'POST', `/v1/comparisons/${second.json().task.comparisonId}/rankings`, { skipped: true, skipReason: 'unclear' });
  assert.equal(skipped.statusCode, 201);

  const history = (await h.call(rater, 'GET', `/v1/projects/${projectId}/my-rankings`)).json();
  assert.equal(history.total, 2);
  const [newest, older] = history.items;
  assert.equal(newest.ranking.skipped, true);
  assert.equal(newest.locked, 'skipped');
  assert.equal(older.ranking.id, first.ranking.id);
  assert.deepEqual(older.answers.map((a: { id: string }) => a.id), first.shown, 'the same order as the task');
  assert.equal(older.comparisonStatus, 'complete');
  assert.equal(older.locked, null, 'a closed comparison can still be changed');
  assert.equal((await h.call(other, 'GET', `/v1/projects/${projectId}/my-rankings`)).json().total, 0);

  const url = `/v1/rankings/${first.ranking.id}`;
  const reversed = [...first.shown].reverse();
  const change = { order: [[reversed[0]], [reversed[1], reversed[2]]], comment: 'on second thought', ratings: { [reversed[0]]: { scores: { helpfulness: 6 }, thumb: 'up' } } };
  assert.equal((await h.call(other, 'PATCH', url, change)).statusCode, 404, 'another rater\'s ranking is not found');
  assert.equal(fieldOf(await h.call(rater, 'PATCH', url, { order: [[reversed[0]], [reversed[1]]] })), 'order');
  assert.equal(fieldOf(await h.call(rater, 'PATCH', url, { ratings: { [reversed[0]]: { scores: { helpfulness: 9 } } } })), `ratings.${reversed[0]}.scores.helpfulness`);

  const changed = await h.call(rater, 'PATCH', url, change);
  assert.equal(changed.statusCode, 200, changed.body);
  assert.deepEqual(changed.json().ranking.order, change.order);
  assert.equal(changed.json().ranking.comment, 'on second thought');
  assert.ok(changed.json().ranking.changedAt);
  // again, with other ratings: they replace the earlier ones
  const again = await h.call(rater, 'PATCH', url, { ratings: { [reversed[1]]: { scores: { helpfulness: 2 } } } });
  assert.deepEqual(Object.keys(again.json().ranking.ratings), [reversed[1]]);
  assert.equal(await h.prisma.answerRating.count({ where: { rankingId: first.ranking.id } }), 1);
  assert.deepEqual(again.json().ranking.order, change.order, 'fields left out stay');
  assert.equal((await h.call(rater, 'PATCH', `/v1/rankings/${newest.ranking.id}`, { order: [[reversed[0]]] })).statusCode, 409, 'a skip is not changed');
});

test('a ranking cannot change once a job\'s dataset is frozen with it; the history says so', async () => {
  const { researcher, rater, projectId } = await setup(1);
  await comparison(researcher, projectId, ['a', 'b', 'c']);
  await comparison(researcher, projectId, ['d', 'e', 'f']);
  const one = await rankNext(rater, projectId);
  const model = await h.prisma.model.create({ data: { projectId, name: 'sft', kind: 'sft', artifactPath: 'm' } });
  const job = await h.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'reward', baseModelId: model.id });
  assert.equal(job.statusCode, 201, job.body);
  // ranked after the freeze: not in that dataset, still free to change
  const two = await rankNext(rater, projectId);

  const refused = await h.call(rater, 'PATCH', `/v1/rankings/${one.ranking.id}`, { order: [...one.shown].reverse().map((id) => [id]) });
  assert.equal(refused.statusCode, 409);
  assert.equal(refused.json().error.code, 'ranking_frozen');
  const stored = await h.prisma.ranking.findUniqueOrThrow({ where: { id: one.ranking.id } });
  assert.deepEqual(stored.order, one.shown.map((id) => [id]), 'unchanged');
  const undo = await h.call(rater, 'DELETE', `/v1/rankings/${one.ranking.id}`);
  assert.equal(undo.json().error.code, 'ranking_frozen', 'not even within the undo window');

  const items = (await h.call(rater, 'GET', `/v1/projects/${projectId}/my-rankings`)).json().items;
  const byId = Object.fromEntries(items.map((i: { ranking: { id: string } }) => [i.ranking.id, i]));
  assert.equal(byId[one.ranking.id].locked, 'frozen');
  assert.ok(byId[one.ranking.id].ranking.frozenAt);
  assert.equal(byId[two.ranking.id].locked, null);
  assert.equal((await h.call(rater, 'PATCH', `/v1/rankings/${two.ranking.id}`, { allBad: true })).statusCode, 200);

  // a job refused for too little data freezes nothing
  const p2 = await setup(1);
  await comparison(p2.researcher, p2.projectId, ['x', 'y']);
  const lone = await rankNext(p2.rater, p2.projectId);
  const m2 = await h.prisma.model.create({ data: { projectId: p2.projectId, name: 'sft', kind: 'sft', artifactPath: 'm' } });
  const tooSmall = await h.call(p2.researcher, 'POST', `/v1/projects/${p2.projectId}/jobs`, { kind: 'reward', baseModelId: m2.id });
  assert.equal(tooSmall.statusCode, 409, tooSmall.body);
  assert.equal((await h.prisma.ranking.findUniqueOrThrow({ where: { id: lone.ranking.id } })).frozenAt, null);
});

test('changes racing a freeze: the frozen dataset holds exactly the stored rankings', async () => {
  const { researcher, rater, projectId } = await setup(1);
  const rankings: { id: string; shown: string[] }[] = [];
  for (let i = 0; i < 6; i++) {
    await comparison(researcher, projectId, [`a${i}`, `b${i}`, `c${i}`]);
    const r = await rankNext(rater, projectId);
    rankings.push({ id: r.ranking.id, shown: r.shown });
  }
  const model = await h.prisma.model.create({ data: { projectId, name: 'sft', kind: 'sft', artifactPath: 'm' } });
  const changes = rankings.flatMap((r) => [1, 2, 3].map((k) => () => h.call(rater, 'PATCH', `/v1/rankings/${r.id}`, { order: [...r.shown.slice(k % 3), ...r.shown.slice(0, k % 3)].map((id) => [id]) })));
  const [job, ...results] = await Promise.all([h.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'reward', baseModelId: model.id }), ...changes.map((c) => c())]);
  assert.equal(job.statusCode, 201, job.body);
  for (const r of results) assert.ok([200, 409].includes(r.statusCode), r.body);

  const dataset = (await h.call(researcher, 'GET', `/v1/jobs/${job.json().job.id}/dataset`)).body.trim().split('\n').map((l) => JSON.parse(l));
  const answerText = new Map((await h.prisma.answer.findMany({ where: { comparison: { projectId } } })).map((a) => [a.id, a.text]));
  for (const r of rankings) {
    const stored = await h.prisma.ranking.findUniqueOrThrow({ where: { id: r.id } });
    assert.ok(stored.frozenAt, 'every ranking read into the dataset is frozen');
    const best = answerText.get((stored.order as string[][])[0][0]);
    const worst = answerText.get((stored.order as string[][])[2][0]);
    assert.ok(dataset.some((row: { group: string; chosen: string; rejected: string }) => row.group === r.id && row.chosen === best && row.rejected === worst), `ranking ${r.id} as stored`);
  }
});

test('undo takes a fresh submission back within the window: the same task comes back, the comparison reopens', async () => {
  const { researcher, rater, other, projectId } = await setup(1);
  const c = await comparison(researcher, projectId, ['a', 'b']);
  await comparison(researcher, projectId, ['later', 'task']);
  const first = await rankNext(rater, projectId, { ratings: { [c.answers[0].id]: { thumb: 'up' } } });
  assert.equal(first.comparisonId, c.id);
  assert.equal((await h.prisma.comparison.findUniqueOrThrow({ where: { id: c.id } })).status, 'complete');
  // the page has already fetched the next task when the rater presses undo
  const next = (await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task;
  assert.notEqual(next.comparisonId, c.id);

  assert.equal((await h.call(other, 'DELETE', `/v1/rankings/${first.ranking.id}`)).statusCode, 404);
  const undo = await h.call(rater, 'DELETE', `/v1/rankings/${first.ranking.id}`);
  assert.equal(undo.statusCode, 200, undo.body);
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 0);
  assert.equal(await h.prisma.answerRating.count({ where: { answer: { comparisonId: c.id } } }), 0);
  assert.equal((await h.prisma.comparison.findUniqueOrThrow({ where: { id: c.id } })).status, 'open');
  const back = (await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task;
  assert.equal(back.comparisonId, c.id, 'the undone task is handed back first');
  assert.deepEqual(back.answers.map((a: { id: string }) => a.id), first.shown);
  assert.equal((await h.call(other, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task?.comparisonId === c.id, false, 'its slot is still the rater\'s');
  assert.equal((await h.call(rater, 'DELETE', `/v1/rankings/${first.ranking.id}`)).statusCode, 404, 'undone once');

  // ranked again, and the window passes
  const again = await h.call(rater, 'POST', `/v1/comparisons/${c.id}/rankings`, { order: first.shown.map((id) => [id]) });
  assert.equal(again.statusCode, 201, again.body);
  await sleep(UNDO_MS + 200);
  const late = await h.call(rater, 'DELETE', `/v1/rankings/${again.json().ranking.id}`);
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error.code, 'undo_expired');
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 1);
});
