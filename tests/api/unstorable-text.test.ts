// Text PostgreSQL cannot store (NUL, a lone surrogate) is refused with a 400 naming the field, or
// the line of an import, on any route, and nothing of the refused request is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('unstorable');
const NDJSON = { 'content-type': 'application/x-ndjson' };

test('a NUL character in a body field, a query or a path gives 400 naming it', async () => {
  const admin = await h.person('Admin', ['admin', 'researcher']);
  const before = await h.prisma.project.count();
  const name = await h.call(admin, 'POST', '/v1/projects', { name: 'a\u0000b' });
  assert.equal(name.statusCode, 400);
  assert.equal(fieldOf(name), 'name');
  assert.match(name.json().error.message, /NUL/);
  assert.equal(await h.prisma.project.count(), before);

  const query = await h.call(admin, 'GET', '/v1/users?q=ab%00c');
  assert.equal(query.statusCode, 400);
  assert.equal(fieldOf(query), 'q');

  const path = await h.call(admin, 'GET', '/v1/projects/ab%00c');
  assert.equal(path.statusCode, 400);
  assert.equal(fieldOf(path), 'projectId');

  const projectId = await h.project(admin);
  const nested = await h.call(admin, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'Hi', answers: [{ text: 'one' }, { text: 'tw\u0000o' }] });
  assert.equal(nested.statusCode, 400);
  assert.equal(fieldOf(nested), 'answers.1.text');
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);
});

test('a lone surrogate is refused, a surrogate pair (an emoji) is stored', async () => {
  const admin = await h.person('Admin2', ['admin', 'researcher']);
  const projectId = await h.project(admin);
  const lone = await h.call(admin, 'POST', `/v1/projects/${projectId}/comparisons`, {
    prompt: 'Hi',
    answers: [{ text: 'one', sampling: { note: '\ud800' } }, { text: 'two' }],
  });
  assert.equal(lone.statusCode, 400, lone.body);
  assert.match(fieldOf(lone) ?? '', /^answers\.0\.sampling/);
  assert.match(lone.json().error.message, /lone surrogate/);
  // the same text sent as raw JSON escapes, as a client that builds JSON by hand would
  const raw = await h.call(admin, 'POST', '/v1/projects', '{"name":"x\\udc00y"}', { 'content-type': 'application/json' });
  assert.equal(raw.statusCode, 400);
  assert.equal(fieldOf(raw), 'name');

  const emoji = await h.call(admin, 'POST', '/v1/projects', { name: 'Rain 🌧️ 雨' });
  assert.equal(emoji.statusCode, 201);
  assert.equal(emoji.json().project.name, 'Rain 🌧️ 雨');
});

test('an import line holding NUL fails the whole import with its line number, storing nothing', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  const body = ['{"prompt":"fine"}', '{"prompt":"bro\\u0000ken"}', '{"prompt":"also fine"}'].join('\n');
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, body, NDJSON);
  assert.equal(res.statusCode, 400);
  assert.equal(fieldOf(res), 'line 2.prompt');
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0);

  const prefs = ['{"prompt":"p","chosen":"a","rejected":"b\\ud800"}'].join('\n');
  const pref = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, prefs, NDJSON);
  assert.equal(pref.statusCode, 400);
  assert.equal(fieldOf(pref), 'line 1.rejected');
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);
});

test('one set of text limits on every route and import; a language must be a code', async () => {
  const researcher = await h.person('Res3', ['researcher']);
  const projectId = await h.project(researcher);
  const longPrompt = 'p'.repeat(20_001);
  const longAnswer = 'a'.repeat(50_001);
  const prefs = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, JSON.stringify({ prompt: longPrompt, chosen: 'a', rejected: 'b' }), NDJSON);
  assert.equal(prefs.statusCode, 400);
  assert.equal(fieldOf(prefs), 'line 1.prompt');
  const answer = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, ['{"prompt":"p","chosen":"a","rejected":"b"}', JSON.stringify({ prompt: 'p', chosen: 'a', rejected: longAnswer })].join('\n'), NDJSON);
  assert.equal(answer.statusCode, 400);
  assert.equal(fieldOf(answer), 'line 2.rejected');
  const prompt = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, JSON.stringify({ prompt: longPrompt }), NDJSON);
  assert.equal(fieldOf(prompt), 'line 1.prompt');
  const single = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text: longPrompt });
  assert.equal(fieldOf(single), 'text');
  const comparison = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: 'p', answers: [{ text: 'a' }, { text: longAnswer }] });
  assert.equal(fieldOf(comparison), 'answers.1.text');
  const language = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, '{"prompt":"hello","language":5}', NDJSON);
  assert.equal(language.statusCode, 400);
  assert.equal(fieldOf(language), 'line 1.language');
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0);
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);
});
