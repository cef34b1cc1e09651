import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, useHarness, type Person } from './harness.ts';

const h = useHarness('rating');

async function setup(settings: { ratersPerComparison?: number } = {}, raterCount = 1) {
  const researcher = await h.person('Res', ['researcher']);
  const annotator = await h.person('Ann', ['annotator']);
  const raters: Person[] = [];
  for (let i = 0; i < raterCount; i++) raters.push(await h.person(`Rater${i}`, ['rater']));
  const projectId = await h.project(researcher, [[annotator, ['annotator']], ...raters.map((r): [Person, ['rater']] => [r, ['rater']])], settings);
  const model = await h.prisma.model.create({ data: { projectId, name: 'secret-sft-v3', kind: 'sft', artifactPath: 'm' } });
  return { researcher, annotator, raters, rater: raters[0], projectId, model };
}

async function comparison(researcher: Person, projectId: string, texts: string[], modelId?: string, extra: object = {}) {
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, {
    prompt: `Prompt ${Math.random()}`,
    answers: texts.map((text, i) => ({ text, modelId, sampling: { temperature: 0.7, seed: i } })),
    ...extra,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().comparison as { id: string; answers: { id: string; text: string; modelName: string | null }[]; requiredRankings: number };
}

const nextTask = (rater: Person, projectId: string) => h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
const rank = (rater: Person, comparisonId: string, body: object, headers?: Record<string, string>) =>
  h.call(rater, 'POST', `/v1/comparisons/${comparisonId}/rankings`, body, headers);

test('researchers create comparisons with model and sampling; others cannot; bad input names the field', async () => {
  const { researcher, annotator, rater, projectId, model } = await setup({ ratersPerComparison: 2 });
  const c = await comparison(researcher, projectId, ['A', 'B', 'C'], model.id);
  assert.equal(c.requiredRankings, 2, 'N comes from the project settings');
  assert.equal(c.answers[0].modelName, 'secret-sft-v3');

  const detail = await h.call(researcher, 'GET', `/v1/comparisons/${c.id}`);
  assert.equal(detail.json().comparison.answers[1].sampling.seed, 1);
  assert.equal((await h.call(rater, 'GET', `/v1/comparisons/${c.id}`)).statusCode, 403);
  assert.equal((await h.call(researcher, 'GET', `/v1/projects/${projectId}/comparisons?status=open`)).json().total, 1);
  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/comparisons`)).statusCode, 403);

  const body = { prompt: 'p', answers: [{ text: 'a' }, { text: 'b' }] };
  assert.equal((await h.call(annotator, 'POST', `/v1/projects/${projectId}/comparisons`, body)).statusCode, 403);
  assert.equal((await h.call(rater, 'POST', `/v1/projects/${projectId}/comparisons`, body)).statusCode, 403);
  const one = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'p', answers: [{ text: 'a' }] });
  assert.equal(fieldOf(one), 'answers');
  const blank = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'p', answers: [{ text: 'a' }, { text: '' }] });
  assert.equal(fieldOf(blank), 'answers.1.text');
  const unknownModel = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, {
    prompt: 'p',
    answers: [{ text: 'a' }, { text: 'b', modelId: '00000000-0000-4000-8000-000000000000' }],
  });
  assert.equal(unknownModel.statusCode, 404);
  assert.equal(fieldOf(unknownModel), 'answers.1.modelId');
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 1, 'failed creations leave nothing behind');

  const key = { 'idempotency-key': 'cmp-1' };
  const a = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, body, key);
  const b = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, body, key);
  assert.equal(a.json().comparison.id, b.json().comparison.id);
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 2);
});

test('a rating task is blind (no model names or ids) and shuffled per rater, the same on every ask', async () => {
  const { researcher, raters, projectId, model } = await setup({ ratersPerComparison: 6 }, 6);
  const texts = ['one', 'two', 'three', 'four', 'five', 'six'];
  const c = await comparison(researcher, projectId, texts, model.id);

  const orders = new Set<string>();
  for (const rater of raters) {
    const res = await nextTask(rater, projectId);
    assert.equal(res.statusCode, 200);
    const task = res.json().task;
    assert.equal(task.comparisonId, c.id);
    assert.ok(!JSON.stringify(task).includes('secret-sft-v3'), 'no model name');
    assert.ok(!JSON.stringify(task).includes(model.id), 'no model id');
    assert.deepEqual(Object.keys(task.answers[0]).sort(), ['id', 'text']);
    assert.deepEqual(task.answers.map((a: { text: string }) => a.text).sort(), [...texts].sort());
    // asking again hands back the same task in the same order
    assert.deepEqual((await nextTask(rater, projectId)).json().task.answers, task.answers);
    orders.add(task.answers.map((a: { text: string }) => a.text).join());
  }
  assert.ok(orders.size > 1, 'different raters see different orders');
});

test('role checks: annotators cannot rate; non-members cannot see tasks', async () => {
  const { researcher, annotator, projectId } = await setup();
  const c = await comparison(researcher, projectId, ['a', 'b']);
  const outsider = await h.person('Outsider', ['rater']);
  assert.equal((await nextTask(annotator, projectId)).statusCode, 403);
  const badProject = await h.call(annotator, 'POST', '/v1/projects/not-a-uuid/rating-task');
  assert.equal(badProject.statusCode, 400);
  assert.equal(fieldOf(badProject), 'projectId');
  assert.equal((await nextTask(outsider, projectId)).statusCode, 403);
  assert.equal((await rank(annotator, c.id, { order: [[c.answers[0].id], [c.answers[1].id]] })).statusCode, 403);
  assert.equal((await rank(outsider, c.id, { order: [[c.answers[0].id], [c.answers[1].id]] })).statusCode, 403);
  assert.equal((await rank(outsider, '00000000-0000-4000-8000-000000000000', { skipped: true, skipReason: 'x' })).statusCode, 404);
});

test('a ranking must order exactly the comparison\'s answers; 400 names the field', async () => {
  const { researcher, rater, projectId } = await setup();
  const c = await comparison(researcher, projectId, ['a', 'b', 'c']);
  const [a, b, x] = c.answers.map((ans) => ans.id);
  const other = (await comparison(researcher, projectId, ['z', 'y'])).answers[0].id;

  const cases: [object, string][] = [
    [{ order: [[a], [b]] }, 'order'], // c missing
    [{ order: [[a], [b, a], [x]] }, 'order.1.1'], // a twice
    [{ order: [[a], [b], [x, other]] }, 'order.2.1'], // an answer of another comparison
    [{ order: [[a], [], [b, x]] }, 'order.1'], // an empty group
    [{ order: [[a], ['not-a-uuid'], [b, x]] }, 'order.1.0'],
    [{}, 'order'],
    [{ skipped: true }, 'skipReason'],
    [{ order: [[a], [b], [x]], flags: { [a]: ['rude'] } }, `flags.${a}.0`],
    [{ order: [[a], [b], [x]], flags: { [other]: ['harmful'] } }, `flags.${other}`],
    [{ order: [[a], [b], [x]], timeSpentMs: -5 }, 'timeSpentMs'],
  ];
  for (const [body, field] of cases) {
    const res = await rank(rater, c.id, body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.equal(fieldOf(res), field, JSON.stringify(body));
  }
  assert.equal(await h.prisma.ranking.count(), 0);
});

test('rankings with ties, flags and comments close the comparison at N; one ranking per rater', async () => {
  const { researcher, raters, projectId } = await setup({ ratersPerComparison: 2 }, 3);
  const c = await comparison(researcher, projectId, ['a', 'b', 'c', 'd']);
  const [a, b, cc, d] = c.answers.map((x) => x.id);

  const other = await comparison(researcher, projectId, ['x', 'y']);
  const handed = (await nextTask(raters[0], projectId)).json();
  assert.equal(handed.task.comparisonId, c.id);
  assert.equal(handed.remaining, 2, 'this one and the other comparison');
  const first = await rank(raters[0], c.id, { order: [[b], [a, cc], [d]], flags: { [d]: ['harmful', 'off-topic'] }, comment: 'd is rude', timeSpentMs: 12_000 });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal(first.json().comparisonStatus, 'open');
  assert.deepEqual(first.json().ranking.order, [[b], [a, cc], [d]]);
  assert.deepEqual(first.json().ranking.flags, { [d]: ['harmful', 'off-topic'] });

  const again = await rank(raters[0], c.id, { order: [[a], [b], [cc], [d]] });
  assert.equal(again.statusCode, 409);

  assert.equal((await nextTask(raters[0], projectId)).json().task.comparisonId, other.id, 'a rater is not handed what they ranked');
  await nextTask(raters[1], projectId);
  const second = await rank(raters[1], c.id, { order: [[a], [b], [cc], [d]], allBad: true });
  assert.equal(second.json().comparisonStatus, 'complete');
  assert.equal((await h.prisma.comparison.findUniqueOrThrow({ where: { id: c.id } })).status, 'complete');

  // the third rater is handed only the other comparison, and cannot push a ranking in over N
  assert.equal((await nextTask(raters[2], projectId)).json().task.comparisonId, other.id);
  const late = await rank(raters[2], c.id, { order: [[a], [b], [cc], [d]] });
  assert.equal(late.statusCode, 409);
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 2);
});

test('skipping with a reason frees the slot for another rater; an idempotent retry stores one ranking', async () => {
  const { researcher, raters, projectId } = await setup({ ratersPerComparison: 1 }, 2);
  const c = await comparison(researcher, projectId, ['a', 'b']);
  assert.equal((await nextTask(raters[0], projectId)).json().task.comparisonId, c.id);
  assert.equal((await nextTask(raters[1], projectId)).json().task, null, 'the only slot is held');

  const key = { 'idempotency-key': 'skip-1' };
  const skip = await rank(raters[0], c.id, { skipped: true, skipReason: 'I cannot read this language' }, key);
  assert.equal(skip.statusCode, 201);
  assert.equal((await rank(raters[0], c.id, { skipped: true, skipReason: 'I cannot read this language' }, key)).statusCode, 201);
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 1);
  assert.equal(skip.json().comparisonStatus, 'open');

  assert.equal((await nextTask(raters[0], projectId)).json().task, null, 'a skipped comparison does not come back');
  const task = (await nextTask(raters[1], projectId)).json().task;
  assert.equal(task.comparisonId, c.id);
  const done = await rank(raters[1], c.id, { order: [[task.answers[0].id], [task.answers[1].id]] });
  assert.equal(done.json().comparisonStatus, 'complete');
});

test('one Idempotency-Key sent at once: the same ranking five times stores one; for two comparisons, one of them', async () => {
  const { researcher, rater, projectId } = await setup({ ratersPerComparison: 1 });
  const c = await comparison(researcher, projectId, ['a', 'b']);
  const [x, y] = c.answers.map((a) => a.id);
  const key = { 'idempotency-key': 'burst-1' };
  const same = await Promise.all(Array.from({ length: 5 }, () => rank(rater, c.id, { order: [[x], [y]] }, key)));
  for (const r of same) assert.equal(r.statusCode, 201, r.body);
  assert.equal(new Set(same.map((r) => r.json().ranking.id)).size, 1, 'every retry answers with the first ranking');
  assert.ok(same.every((r) => r.json().comparisonStatus === 'complete'), 'the stored answer carries the status the ranking gave');
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 1);

  const [d, e] = [await comparison(researcher, projectId, ['a', 'b']), await comparison(researcher, projectId, ['a', 'b'])];
  const other = { 'idempotency-key': 'burst-2' };
  const both = await Promise.all([d, e].map((z) => rank(rater, z.id, { order: [[z.answers[0].id], [z.answers[1].id]] }, other)));
  const stored = both.filter((r) => r.statusCode === 201);
  assert.equal(stored.length, 1, both.map((r) => r.body).join(' | '));
  const refused = both.find((r) => r.statusCode !== 201)!;
  assert.ok([409, 422].includes(refused.statusCode), refused.body);
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: { in: [d.id, e.id] } } }), 1, 'nothing of the refused one stays');
  const loser = stored[0] === both[0] ? e : d;
  const again = await rank(rater, loser.id, { order: [[loser.answers[0].id], [loser.answers[1].id]] }, other);
  assert.equal(again.statusCode, 422, 'asked again, the key is known to belong to the other comparison');
});

test('an expired assignment gives its slot to someone else', async () => {
  const { researcher, raters, projectId } = await setup({ ratersPerComparison: 1 }, 2);
  const c = await comparison(researcher, projectId, ['a', 'b']);
  await nextTask(raters[0], projectId);
  await h.prisma.assignment.updateMany({ where: { comparisonId: c.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  assert.equal((await nextTask(raters[1], projectId)).json().task.comparisonId, c.id);
});

test('20 raters asking at once never over-assign a comparison', async () => {
  const { researcher, raters, projectId } = await setup({ ratersPerComparison: 3 }, 20);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await comparison(researcher, projectId, ['a', 'b', 'c'])).id);

  // 5 comparisons × 3 slots = 15 slots for 20 raters: exactly 15 get a task, none twice the same
  const results = await Promise.all(raters.map((r) => nextTask(r, projectId)));
  const tasks = results.map((r) => {
    assert.equal(r.statusCode, 200, r.body);
    return r.json().task as { comparisonId: string } | null;
  });
  const perComparison = new Map<string, number>();
  for (const t of tasks) if (t) perComparison.set(t.comparisonId, (perComparison.get(t.comparisonId) ?? 0) + 1);
  assert.equal(tasks.filter(Boolean).length, 15);
  for (const id of ids) assert.equal(perComparison.get(id), 3, `comparison ${id} handed out ${perComparison.get(id)} times`);
  const rows = await h.prisma.assignment.groupBy({ by: ['comparisonId'], where: { comparisonId: { in: ids } }, _count: { _all: true } });
  for (const row of rows) assert.equal(row._count._all, 3);

  // and they all submit at once: every comparison closes with exactly 3 rankings
  await Promise.all(
    raters.map(async (r, i) => {
      const t = tasks[i] as { comparisonId: string; answers: { id: string }[] } | null;
      if (!t) return;
      const res = await rank(r, t.comparisonId, { order: t.answers.map((a) => [a.id]) });
      assert.equal(res.statusCode, 201, res.body);
    }),
  );
  const closed = await h.prisma.comparison.findMany({ where: { projectId }, include: { _count: { select: { rankings: true } } } });
  for (const c of closed) {
    assert.equal(c.status, 'complete');
    assert.equal(c._count.rankings, 3);
  }
});

test('preference export: a 4-way ranking with one tie yields exactly 5 pairs; skips yield none', async () => {
  const { researcher, raters, annotator, projectId } = await setup({ ratersPerComparison: 2 }, 2);
  const c = await comparison(researcher, projectId, ['alpha', 'beta', 'gamma', 'delta']);
  const id = Object.fromEntries(c.answers.map((a) => [a.text, a.id]));
  await nextTask(raters[0], projectId);
  await rank(raters[0], c.id, { order: [[id.beta], [id.alpha, id.gamma], [id.delta]] });
  await nextTask(raters[1], projectId);
  await rank(raters[1], c.id, { skipped: true, skipReason: 'unsure' });

  const res = await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/preferences`);
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /application\/x-ndjson/);
  assert.equal(res.headers['content-disposition'], 'attachment; filename="p-preferences.jsonl"');
  const rows = res.body.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 5);
  const pairs = rows.map((r) => `${r.chosen}>${r.rejected}`).sort();
  assert.deepEqual(pairs, ['alpha>delta', 'beta>alpha', 'beta>delta', 'beta>gamma', 'gamma>delta']);
  assert.ok(rows.every((r) => r.prompt === rows[0].prompt && r.prompt.startsWith('Prompt')));
  assert.equal((await h.call(annotator, 'GET', `/v1/projects/${projectId}/export/preferences`)).statusCode, 403);
  assert.equal((await h.call(raters[0], 'GET', `/v1/projects/${projectId}/export/preferences`)).statusCode, 403);
});
