import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { splitHhDialogue, storedPrompt } from '@jielong/shared';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('prefs');
const NDJSON = { 'content-type': 'application/x-ndjson' };
const HH_FILE = '../shared/data/preferences/hh-rlhf-helpful-base.jsonl.gz';
const hhLines = gunzipSync(readFileSync(HH_FILE)).toString('utf8').split('\n').filter(Boolean);

test('hh-rlhf lines from the real data file import as 2-answer comparisons ranked by the importer', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  const lines = hhLines.slice(0, 40);
  const url = `/v1/projects/${projectId}/preferences/import`;

  const res = await h.call(researcher, 'POST', url, gzipSync(lines.join('\n')), { ...NDJSON, 'content-encoding': 'gzip' });
  assert.equal(res.statusCode, 200, res.body);
  const report = res.json();
  assert.equal(report.lines, 40);
  assert.equal(report.imported + report.skipped.length, 40);
  assert.ok(report.imported >= 35, `most lines are usable (${JSON.stringify(report.skipped)})`);

  // the first line: prompt = the shared dialogue, answers = the two last assistant turns
  const first = JSON.parse(lines[0]);
  const split = splitHhDialogue(first.chosen, first.rejected);
  assert.ok(!('error' in split));
  assert.ok(split.prompt[0].content.startsWith('Do you know why turkeys'));
  const promptText = storedPrompt(split.prompt).text;
  const stored = await h.prisma.comparison.findFirstOrThrow({
    where: { projectId, prompt: { text: promptText } },
    include: { answers: { orderBy: { position: 'asc' } }, rankings: true, prompt: true },
  });
  assert.equal(stored.status, 'complete');
  assert.equal(stored.prompt.source, 'imported');
  assert.deepEqual(stored.answers.map((a) => a.text), [split.chosen, split.rejected]);
  assert.equal(stored.rankings.length, 1);
  assert.equal(stored.rankings[0].raterId, researcher.id);
  assert.deepEqual(stored.rankings[0].order, [[stored.answers[0].id], [stored.answers[1].id]]);

  // imported comparisons are already complete: they never enter the rating queue
  const rater = await h.person('Rater', ['rater']);
  await h.prisma.projectMember.create({ data: { projectId, userId: rater.id, roles: ['rater'] } });
  assert.equal((await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task, null);

  // and they export back as exactly the pairs that came in
  const exported = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/preferences`)).body.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(exported.length, report.imported);
  assert.ok(exported.some((r) => r.prompt === promptText && r.chosen === split.chosen && r.rejected === split.rejected));

  // importing the same lines again stores nothing new
  const again = (await h.call(researcher, 'POST', url, lines.join('\n'), NDJSON)).json();
  assert.equal(again.imported, 0);
  assert.equal(again.duplicates, report.imported);
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), report.imported);
});

test('the whole hh-rlhf helpful file imports in one request', async () => {
  const researcher = await h.person('Res2', ['researcher']);
  const projectId = await h.project(researcher);
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, readFileSync(HH_FILE), { ...NDJSON, 'content-encoding': 'gzip' });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().lines, hhLines.length);
  assert.equal(await h.prisma.ranking.count({ where: { comparison: { projectId } } }), res.json().imported);
});

test('{"prompt","chosen","rejected"} lines import too; unusable lines are skipped with a reason', async () => {
  const researcher = await h.person('Res3', ['researcher']);
  const projectId = await h.project(researcher);
  const body = [
    { prompt: 'Capital of France?', chosen: 'Paris.', rejected: 'Lyon.' },
    { prompt: 'Capital of France?', chosen: 'Paris', rejected: 'Paris' },
    { chosen: '\n\nHuman: hi\n\nAssistant: hello', rejected: '\n\nHuman: bye\n\nAssistant: hello there' },
  ]
    .map((l) => JSON.stringify(l))
    .join('\n');
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, body, NDJSON);
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().imported, 1);
  assert.equal(res.json().promptsCreated, 1);
  assert.deepEqual(res.json().skipped.map((s: { line: number }) => s.line), [2, 3]);
});

test('preference import: bad lines are 400s naming the line; only researchers import', async () => {
  const researcher = await h.person('Res4', ['researcher']);
  const rater = await h.person('Rater4', ['rater']);
  const projectId = await h.project(researcher, [[rater, ['rater', 'annotator']]]);
  const url = `/v1/projects/${projectId}/preferences/import`;
  const missing = await h.call(researcher, 'POST', url, '{"prompt":"p","chosen":"a","rejected":"b"}\n{"prompt":"p","chosen":"a"}', NDJSON);
  assert.equal(missing.statusCode, 400);
  assert.equal(fieldOf(missing), 'line 2.rejected');
  const broken = await h.call(researcher, 'POST', url, 'not json', NDJSON);
  assert.equal(fieldOf(broken), 'line 1');
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);
  assert.equal((await h.call(rater, 'POST', url, '{"prompt":"p","chosen":"a","rejected":"b"}', NDJSON)).statusCode, 403);

  const key = { ...NDJSON, 'idempotency-key': 'pref-import' };
  const one = await h.call(researcher, 'POST', url, '{"prompt":"p","chosen":"a","rejected":"b"}', key);
  const two = await h.call(researcher, 'POST', url, '{"prompt":"p","chosen":"a","rejected":"b"}', key);
  assert.deepEqual(two.json(), one.json());
  assert.equal(two.json().imported, 1);
});

test('dashboard: totals, per-day activity and rater agreement from the shared pairs function', async () => {
  const researcher = await h.person('Res5', ['researcher']);
  const annotator = await h.person('Ann5', ['annotator']);
  const r1 = await h.person('R1', ['rater']);
  const r2 = await h.person('R2', ['rater']);
  const projectId = await h.project(researcher, [[annotator, ['annotator']], [r1, ['rater']], [r2, ['rater']]], { ratersPerComparison: 2 });
  const prompt = (await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text: 'Tell a joke.' })).json().prompt;
  await h.call(annotator, 'POST', `/v1/projects/${projectId}/demonstrations`, { promptId: prompt.id, answer: 'Knock knock.' });
  const c = (
    await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { promptId: prompt.id, answers: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] })
  ).json().comparison;
  const [a, b, x] = c.answers.map((ans: { id: string }) => ans.id);
  // r1: a > b > c ; r2: a > c > b — they agree on a>b and a>c, disagree on b vs c
  for (const [rater, order] of [
    [r1, [[a], [b], [x]]],
    [r2, [[a], [x], [b]]],
  ] as const) {
    await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
    assert.equal((await h.call(rater, 'POST', `/v1/comparisons/${c.id}/rankings`, { order })).statusCode, 201);
  }

  const res = await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=7`);
  assert.equal(res.statusCode, 200);
  const d = res.json();
  assert.deepEqual(d.totals, {
    prompts: 1,
    demonstrations: { submitted: 1, accepted: 0, rejected: 0 },
    comparisons: { open: 0, complete: 1, gold: 0 },
    rankings: 2,
    skippedRankings: 0,
  });
  assert.equal(d.daily.length, 7);
  assert.deepEqual(d.daily[6], { date: new Date().toISOString().slice(0, 10), prompts: 1, demonstrations: 1, rankings: 2 });
  assert.equal(d.daily[0].rankings, 0);
  assert.deepEqual(d.agreement, { comparisons: 1, comparedPairs: 3, agreedPairs: 2, rate: 2 / 3 });

  // a comparison ranked before comparisons kept their agreement (null) is computed once, the same
  await h.prisma.comparison.update({ where: { id: c.id }, data: { comparedPairs: null, agreedPairs: null } });
  const again = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=7`)).json();
  assert.deepEqual(again.agreement, d.agreement);
  assert.deepEqual(await h.prisma.comparison.findUniqueOrThrow({ where: { id: c.id }, select: { comparedPairs: true, agreedPairs: true } }), { comparedPairs: 3, agreedPairs: 2 });
  // the totals follow every writer of rankings, a deleted rater's cascade included
  await h.prisma.user.delete({ where: { id: r2.id } });
  const after = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=7`)).json();
  assert.equal(after.totals.rankings, 1);
  assert.deepEqual(after.agreement, { comparisons: 0, comparedPairs: 0, agreedPairs: 0, rate: null }, 'one ranking left: no agreement to show');

  assert.equal((await h.call(r1, 'GET', `/v1/projects/${projectId}/dashboard`)).statusCode, 403);
  assert.equal(fieldOf(await h.call(researcher, 'GET', `/v1/projects/${projectId}/dashboard?days=0`)), 'days');
});
