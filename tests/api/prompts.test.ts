import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('prompts', { importBodyLimit: 256 * 1024 });
const NDJSON = { 'content-type': 'application/x-ndjson' };

test('a prompt text is stored once per project', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  const otherProject = await h.project(researcher);
  const url = `/v1/projects/${projectId}/prompts`;

  const first = await h.call(researcher, 'POST', url, { text: 'Write a haiku about rain.' });
  assert.equal(first.statusCode, 201);
  assert.equal(first.json().prompt.language, 'en');
  const again = await h.call(researcher, 'POST', url, { text: '  Write a haiku   about rain. ' });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().created, false);
  assert.equal(again.json().prompt.id, first.json().prompt.id);
  assert.equal((await h.call(researcher, 'POST', `/v1/projects/${otherProject}/prompts`, { text: 'Write a haiku about rain.' })).statusCode, 201);

  const zh = await h.call(researcher, 'POST', url, { text: '写一首关于雨的诗。' });
  assert.equal(zh.json().prompt.language, 'zh');
  const list = await h.call(researcher, 'GET', `${url}?q=haiku`);
  assert.equal(list.json().total, 1);

  const empty = await h.call(researcher, 'POST', url, { text: '   ' });
  assert.equal(empty.statusCode, 400);
  assert.equal(fieldOf(empty), 'text');
  const badLimit = await h.call(researcher, 'GET', `${url}?limit=100000`);
  assert.equal(fieldOf(badLimit), 'limit');
});

test('annotators and raters read prompts but cannot add or import them', async () => {
  const researcher = await h.person('Res2', ['researcher']);
  const annotator = await h.person('Ann', ['annotator']);
  const projectId = await h.project(researcher, [[annotator, ['annotator', 'rater']]]);
  assert.equal((await h.call(annotator, 'GET', `/v1/projects/${projectId}/prompts`)).statusCode, 200);
  assert.equal((await h.call(annotator, 'POST', `/v1/projects/${projectId}/prompts`, { text: 'hi' })).statusCode, 403);
  assert.equal((await h.call(annotator, 'POST', `/v1/projects/${projectId}/prompts/import`, '{"prompt":"hi"}', NDJSON)).statusCode, 403);
});

test('JSONL import: plain, alpaca and bilingual lines; duplicates counted, not stored twice', async () => {
  const researcher = await h.person('Res3', ['researcher']);
  const projectId = await h.project(researcher);
  const url = `/v1/projects/${projectId}/prompts/import`;
  const body = [
    JSON.stringify({ prompt: 'Name three rivers.', language: 'en' }),
    JSON.stringify({ instruction: 'Translate to French.', input: 'Good morning' }),
    '',
    JSON.stringify({ prompt: 'Name  three rivers.' }),
    // real lines of the bilingual alpaca file: one prompt per language each
    ...readFileSync('../shared/data/demonstrations/alpaca-bilingual-8k.jsonl', 'utf8').split('\n').slice(0, 3),
  ].join('\n');

  const res = await h.call(researcher, 'POST', url, body, NDJSON);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { lines: 6, created: 8, duplicates: 1 });
  const prompts = await h.prisma.prompt.findMany({ where: { projectId } });
  assert.ok(prompts.some((p) => p.text === 'Translate to French.\n\nGood morning' && p.source === 'imported'));
  assert.equal(prompts.filter((p) => p.language === 'zh').length, 3);

  // importing the same file again adds nothing
  const again = await h.call(researcher, 'POST', url, body, NDJSON);
  assert.deepEqual(again.json(), { lines: 6, created: 0, duplicates: 9 });
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 8);

  // gzip-compressed bodies are accepted too
  const gz = await h.call(researcher, 'POST', url, gzipSync(JSON.stringify({ prompt: 'Compressed?' })), { ...NDJSON, 'content-encoding': 'gzip' });
  assert.equal(gz.json().created, 1);
});

test('JSONL import: a bad line fails the whole import and names the line', async () => {
  const researcher = await h.person('Res4', ['researcher']);
  const projectId = await h.project(researcher);
  const url = `/v1/projects/${projectId}/prompts/import`;
  const notJson = await h.call(researcher, 'POST', url, '{"prompt":"ok"}\n{"prompt": broken', NDJSON);
  assert.equal(notJson.statusCode, 400);
  assert.equal(fieldOf(notJson), 'line 2');
  const noText = await h.call(researcher, 'POST', url, '{"prompt":"ok"}\n{"text":"wrong field"}', NDJSON);
  assert.equal(fieldOf(noText), 'line 2');
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0, 'no half-done import');
  const json = await h.call(researcher, 'POST', url, { prompt: 'x' });
  assert.equal(json.statusCode, 400);
  assert.equal(fieldOf(json), 'body');
});

test('oversized bodies are refused with 413', async () => {
  const researcher = await h.person('Res5', ['researcher']);
  const projectId = await h.project(researcher);
  const huge = JSON.stringify({ prompt: 'x'.repeat(300 * 1024) });
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, huge, NDJSON);
  assert.equal(res.statusCode, 413);
  const bigJson = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text: 'y'.repeat(2 * 1024 * 1024) });
  assert.equal(bigJson.statusCode, 413);
});

test('prompt import with an Idempotency-Key replays its report', async () => {
  const researcher = await h.person('Res6', ['researcher']);
  const projectId = await h.project(researcher);
  const url = `/v1/projects/${projectId}/prompts/import`;
  const headers = { ...NDJSON, 'idempotency-key': 'import-1' };
  const first = await h.call(researcher, 'POST', url, '{"prompt":"a"}\n{"prompt":"b"}', headers);
  const retry = await h.call(researcher, 'POST', url, '{"prompt":"a"}\n{"prompt":"b"}', headers);
  assert.deepEqual(retry.json(), first.json());
  assert.equal(retry.json().created, 2, 'the retry reports what the first call did');
});
