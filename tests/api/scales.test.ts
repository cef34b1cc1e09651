// Rating scales per project, scores and thumbs per answer with the ranking, and their exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, useHarness, type Person } from './harness.ts';

const h = useHarness('scales');

const HHH = [
  { key: 'helpfulness', label: 'Helpfulness', min: 1, max: 7, minLabel: 'unhelpful', maxLabel: 'very helpful', required: true },
  { key: 'harmlessness', label: 'Harmlessness', min: 1, max: 7 },
  { key: 'honesty', label: 'Honesty', min: 1, max: 7 },
];

async function setup(settings: Record<string, unknown> = { ratingScales: HHH }) {
  const researcher = await h.person('Res', ['researcher']);
  const rater = await h.person('Rater', ['rater']);
  const other = await h.person('Other', ['rater']);
  const projectId = await h.project(researcher, [[rater, ['rater']], [other, ['rater']]], { ratersPerComparison: 2, ...settings });
  return { researcher, rater, other, projectId };
}

async function comparison(researcher: Person, projectId: string, prompt: string, texts: string[]) {
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt, answers: texts.map((text) => ({ text })) });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().comparison as { id: string; answers: { id: string; text: string }[] };
}

const jsonl = (body: string) => body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('scales are configured per project: defaults filled, bad ones refused naming the field, nothing half-saved', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const created = await h.call(researcher, 'POST', '/v1/projects', { name: 'S', ratingScales: [{ key: 'quality', label: 'Quality' }] });
  assert.equal(created.statusCode, 201, created.body);
  const project = created.json().project;
  assert.deepEqual(project.ratingScales, [{ key: 'quality', label: 'Quality', min: 1, max: 7, minLabel: '', maxLabel: '', required: false }]);
  assert.equal(project.thumbs, true, 'thumbs are on unless turned off');
  const plain = (await h.call(researcher, 'POST', '/v1/projects', { name: 'plain' })).json().project;
  assert.deepEqual(plain.ratingScales, []);

  const url = `/v1/projects/${project.id}`;
  const bad: [unknown[], string][] = [
    [[{ key: 'a', label: 'A' }, { key: 'a', label: 'B' }], 'ratingScales.1.key'],
    [[{ key: 'Bad Key', label: 'A' }], 'ratingScales.0.key'],
    [[{ key: 'a', label: 'A', min: 5, max: 5 }], 'ratingScales.0.max'],
    [[{ key: 'a', label: 'A', min: 1, max: 10 }], 'ratingScales.0.max'],
    [[{ key: 'a', label: '' }], 'ratingScales.0.label'],
  ];
  for (const [ratingScales, field] of bad) {
    const res = await h.call(researcher, 'PATCH', url, { name: 'renamed', ratingScales });
    assert.equal(res.statusCode, 400, JSON.stringify(ratingScales));
    assert.equal(fieldOf(res), field);
  }
  const stored = await h.prisma.project.findUniqueOrThrow({ where: { id: project.id } });
  assert.equal(stored.name, 'S', 'a refused update changes nothing');

  const ok = await h.call(researcher, 'PATCH', url, { ratingScales: HHH, thumbs: false });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(ok.json().project.ratingScales.map((s: { key: string }) => s.key), ['helpfulness', 'harmlessness', 'honesty']);
  assert.equal(ok.json().project.thumbs, false);
  // raters read the scales from the project
  const rater = await h.person('R', ['rater']);
  await h.prisma.projectMember.create({ data: { projectId: project.id, userId: rater.id, roles: ['rater'] } });
  assert.equal((await h.call(rater, 'GET', url)).json().project.ratingScales[0].maxLabel, 'very helpful');
  assert.equal((await h.call(rater, 'PATCH', url, { thumbs: true })).statusCode, 403);
});

test('scores and thumbs are checked against the project, stored with the ranking once, and shown to researchers', async () => {
  const { researcher, rater, projectId } = await setup();
  const c = await comparison(researcher, projectId, 'Why is the sky blue?', ['Rayleigh scattering.', 'Because it is.', 'Blue paint.']);
  const [a, b, x] = c.answers.map((ans) => ans.id);
  await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
  const url = `/v1/comparisons/${c.id}/rankings`;
  const order = [[a], [b], [x]];
  const full = {
    [a]: { scores: { helpfulness: 7, honesty: 6 }, thumb: 'up' },
    [b]: { scores: { helpfulness: 2 }, thumb: 'down' },
    [x]: { scores: { helpfulness: 1, harmlessness: 4 } },
  };

  const refused: [Record<string, unknown>, string][] = [
    [{ ...full, [a]: { scores: { helpfulness: 8 } } }, `ratings.${a}.scores.helpfulness`],
    [{ ...full, [a]: { scores: { helpfulness: 0 } } }, `ratings.${a}.scores.helpfulness`],
    [{ ...full, [b]: { scores: { helpfulness: 2, creativity: 3 } } }, `ratings.${b}.scores.creativity`],
    [{ ...full, [x]: { scores: { harmlessness: 4 } } }, `ratings.${x}.scores.helpfulness`],
    [{ ...full, '00000000-0000-4000-8000-000000000000': { thumb: 'up' } }, 'ratings.00000000-0000-4000-8000-000000000000'],
    [{ ...full, [a]: { scores: { helpfulness: 7 }, thumb: 'sideways' } }, `ratings.${a}.thumb`],
    [{ ...full, [a]: { scores: { helpfulness: 2.5 } } }, `ratings.${a}.scores.helpfulness`],
  ];
  for (const [ratings, field] of refused) {
    const res = await h.call(rater, 'POST', url, { order, ratings });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(fieldOf(res), field);
  }
  assert.equal(await h.prisma.ranking.count({ where: { comparisonId: c.id } }), 0, 'a refused ranking stores nothing');

  const key = { 'idempotency-key': 'rank-with-scales' };
  const first = await h.call(rater, 'POST', url, { order, ratings: full }, key);
  assert.equal(first.statusCode, 201, first.body);
  const replay = await h.call(rater, 'POST', url, { order, ratings: full }, key);
  assert.equal(replay.json().ranking.id, first.json().ranking.id);
  const again = await h.call(rater, 'POST', url, { order, ratings: full });
  assert.equal(again.statusCode, 409);
  assert.equal(await h.prisma.answerRating.count({ where: { ranking: { comparisonId: c.id } } }), 3, 'one row per rated answer, however often it is sent');

  const { ranking, undoUntil } = first.json();
  assert.deepEqual(ranking.ratings[a], { scores: { helpfulness: 7, honesty: 6 }, thumb: 'up' });
  assert.deepEqual(ranking.ratings[x], { scores: { helpfulness: 1, harmlessness: 4 }, thumb: null });
  assert.ok(Date.parse(undoUntil) > Date.parse(ranking.createdAt));
  const detail = (await h.call(researcher, 'GET', `/v1/comparisons/${c.id}`)).json();
  assert.deepEqual(detail.rankings[0].ratings[b], { scores: { helpfulness: 2 }, thumb: 'down' });

  // a skip carries no ratings, and needs none of the required ones
  const c2 = await comparison(researcher, projectId, 'Another', ['one', 'two']);
  const skip = await h.call(rater, 'POST', `/v1/comparisons/${c2.id}/rankings`, { skipped: true, skipReason: 'unclear', ratings: { [c2.answers[0].id]: { thumb: 'up' } } });
  assert.equal(skip.statusCode, 201, skip.body);
  assert.deepEqual(skip.json().ranking.ratings, {});
});

test('thumbs are refused where the project turned them off', async () => {
  const { researcher, rater, projectId } = await setup({ thumbs: false });
  const c = await comparison(researcher, projectId, 'No thumbs here', ['one', 'two']);
  const [a, b] = c.answers.map((ans) => ans.id);
  const res = await h.call(rater, 'POST', `/v1/comparisons/${c.id}/rankings`, { order: [[a], [b]], ratings: { [b]: { thumb: 'down' } } });
  assert.equal(res.statusCode, 400);
  assert.equal(fieldOf(res), `ratings.${b}.thumb`);
});

test('exports: thumbs in TRL unpaired format, scores summed up per answer', async () => {
  const { researcher, rater, other, projectId } = await setup();
  const c = await comparison(researcher, projectId, 'Name a prime.', ['7', '9']);
  const [seven, nine] = c.answers.map((ans) => ans.id);
  const rankBoth = (who: Person, ratings: object) => h.call(who, 'POST', `/v1/comparisons/${c.id}/rankings`, { order: [[seven], [nine]], ratings });
  assert.equal((await rankBoth(rater, { [seven]: { scores: { helpfulness: 7 }, thumb: 'up' }, [nine]: { scores: { helpfulness: 1, honesty: 2 }, thumb: 'down' } })).statusCode, 201);
  assert.equal((await rankBoth(other, { [seven]: { scores: { helpfulness: 6 }, thumb: 'up' }, [nine]: { scores: { helpfulness: 2 } } })).statusCode, 201);

  const unpaired = await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/unpaired`);
  assert.equal(unpaired.statusCode, 200);
  assert.match(String(unpaired.headers['content-disposition']), /p-unpaired\.jsonl/);
  const rows = jsonl(unpaired.body);
  const sortRows = (r: { completion: string; label: boolean }[]) => [...r].sort((p, q) => `${p.completion}${p.label}`.localeCompare(`${q.completion}${q.label}`));
  assert.deepEqual(sortRows(rows), [
    { prompt: 'Name a prime.', completion: '7', label: true },
    { prompt: 'Name a prime.', completion: '7', label: true },
    { prompt: 'Name a prime.', completion: '9', label: false },
  ]);

  const conversational = jsonl((await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/unpaired?format=conversational`)).body);
  assert.deepEqual(conversational.find((r) => r.label === false), {
    prompt: [{ role: 'user', content: 'Name a prime.' }],
    completion: [{ role: 'assistant', content: '9' }],
    label: false,
  });

  const ratings = jsonl((await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/ratings`)).body);
  const byCompletion = Object.fromEntries(ratings.map((r) => [r.completion, r]));
  assert.deepEqual(byCompletion['7'], { prompt: 'Name a prime.', completion: '7', labels: { helpfulness: { value: 6.5, count: 2 } } });
  assert.deepEqual(byCompletion['9'].labels, { helpfulness: { value: 1.5, count: 2 }, honesty: { value: 2, count: 1 } });
  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/export/unpaired`)).statusCode, 403);
});
