// Conversations end to end through the API: dialogue prompts imported from hh-rlhf text and
// {"messages":[…]} lines keep their turns; preference pairs in hh-rlhf and TRL's conversational
// forms keep theirs; the write and rank tasks hand the turns out; exports and a job's frozen
// dataset use TRL's conversational formats; a bad turn is a 400 naming the line and field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseHhDialogue, type ChatMessage } from '@jielong/shared';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('dialogue', { dataDir: mkdtempSync(join(tmpdir(), 'jielong-dialogue-')) }, { queue: true });
const NDJSON = { 'content-type': 'application/x-ndjson' };
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');
const rows = (body: string) => body.trim().split('\n').map((l) => JSON.parse(l));

const chat: ChatMessage[] = [
  { role: 'system', content: 'You answer in one sentence.' },
  { role: 'user', content: 'What is 接龙?' },
  { role: 'assistant', content: 'A word-chain game.' },
  { role: 'user', content: 'Give an example.' },
];

test('prompt import: {"messages"} and hh-rlhf lines keep their turns; one user turn is a plain prompt; re-imports duplicate nothing', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  const url = `/v1/projects/${projectId}/prompts/import`;
  const body = jsonl([
    { messages: chat },
    { prompt: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: A joke?\n\nAssistant:' },
    { messages: [{ role: 'user', content: 'Plain question' }] },
    { prompt: 'Plain question' },
  ]);
  const res = await h.call(researcher, 'POST', url, body, NDJSON);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { lines: 4, created: 3, duplicates: 1 });

  const list = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/prompts?limit=10`)).json().items as { text: string; turns: ChatMessage[] }[];
  const byFirst = new Map(list.map((p) => [p.turns[0].content, p]));
  assert.deepEqual(byFirst.get('You answer in one sentence.')!.turns, chat);
  assert.equal(byFirst.get('You answer in one sentence.')!.text, 'System: You answer in one sentence.\n\nHuman: What is 接龙?\n\nAssistant: A word-chain game.\n\nHuman: Give an example.');
  // hh-rlhf's trailing "Assistant:" is where the answer goes, not a turn
  assert.deepEqual(byFirst.get('Hi')!.turns, [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'A joke?' },
  ]);
  assert.deepEqual(byFirst.get('Plain question')!.turns, [{ role: 'user', content: 'Plain question' }]);
  assert.equal((await h.prisma.prompt.findFirstOrThrow({ where: { projectId, text: 'Plain question' } })).turns, null);

  // a search finds a dialogue by any turn's text
  const found = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/prompts?q=example`)).json();
  assert.equal(found.total, 1);

  const again = (await h.call(researcher, 'POST', url, body, NDJSON)).json();
  assert.deepEqual(again, { lines: 4, created: 0, duplicates: 4 });
  // the same turns with another role are another prompt
  const other = await h.call(researcher, 'POST', url, jsonl([{ messages: [{ role: 'system', content: 'Hi' }, { role: 'user', content: 'A joke?' }] }]), NDJSON);
  assert.equal(other.json().created, 1);
});

test('bad turns are 400s naming the line and field, and nothing of the file is stored', async () => {
  const researcher = await h.person('Res2', ['researcher']);
  const projectId = await h.project(researcher);
  const prompts = `/v1/projects/${projectId}/prompts/import`;
  const prefs = `/v1/projects/${projectId}/preferences/import`;
  const ok = { messages: [{ role: 'user', content: 'fine' }] };
  const cases: [string, unknown, string, RegExp][] = [
    [prompts, { messages: [{ role: 'user', content: 'hi' }, { role: 'bot', content: 'x' }] }, 'line 2.messages.1.role', /"system", "user" or "assistant" \(got "bot"\)/],
    [prompts, { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] }, 'line 2.messages.1.role', /last turn must be a user turn/],
    [prompts, { messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'late' }, { role: 'user', content: 'x' }] }, 'line 2.messages.1.role', /system turn may only come first/],
    [prompts, { messages: [{ role: 'user', content: 7 }] }, 'line 2.messages.0.content', /must be a string/],
    [prompts, { messages: [] }, 'line 2.messages', /non-empty list/],
    [prefs, { prompt: [{ role: 'human', content: 'hi' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }] }, 'line 2.prompt.0.role', /got "human"/],
    [prefs, { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'user', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }] }, 'line 2.chosen.0.role', /must be "assistant"/],
    [prefs, { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'a' }, { role: 'assistant', content: 'c' }], rejected: [{ role: 'assistant', content: 'b' }] }, 'line 2.chosen', /exactly one assistant turn/],
    [prefs, { chosen: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'a' }], rejected: [{ role: 'user', content: 'hi' }, { role: 'robot', content: 'b' }] }, 'line 2.rejected.1.role', /got "robot"/],
  ];
  for (const [url, line, field, message] of cases) {
    const first = url === prompts ? ok : { prompt: 'p', chosen: 'a', rejected: 'b' };
    const res = await h.call(researcher, 'POST', url, jsonl([first, line]), NDJSON);
    assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
    assert.equal(fieldOf(res), field);
    assert.match(res.json().error.message, message);
  }
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0);
  assert.equal(await h.prisma.comparison.count({ where: { projectId } }), 0);

  // the JSON body of a single prompt or comparison is checked by the same rules
  const one = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { turns: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] });
  assert.equal(one.statusCode, 400);
  assert.equal(fieldOf(one), 'turns.1.role');
  const both = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text: 'a', turns: [{ role: 'user', content: 'a' }] });
  assert.equal(fieldOf(both), 'text');

  // and the OpenAPI document describes them
  const docs = await h.call(null, 'GET', '/docs/json');
  assert.equal(docs.statusCode, 200);
  const spec = docs.json();
  assert.ok(JSON.stringify(spec.paths['/v1/projects/{projectId}/prompts'].post).includes('"turns"'));
});

test('preference import keeps the turns of hh-rlhf and TRL conversational pairs; exports give them back in TRL\'s formats', async () => {
  const researcher = await h.person('Res3', ['researcher']);
  const projectId = await h.project(researcher);
  // a real multi-turn hh-rlhf pair (its prompt has at least three turns)
  const hh = gunzipSync(readFileSync('../shared/data/preferences/hh-rlhf-helpful-base.jsonl.gz'))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { chosen: string; rejected: string })
    .find((p) => parseHhDialogue(p.chosen).length >= 4 && !parseHhDialogue(p.chosen).some((t) => !t.content))!;
  const hhTurns = parseHhDialogue(hh.chosen);
  const hhPrompt = hhTurns.slice(0, -1);
  const trlExplicit = { prompt: chat, chosen: [{ role: 'assistant', content: '春风 → 风雨.' }], rejected: [{ role: 'assistant', content: 'No.' }] };
  const trlImplicit = {
    chosen: [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Blue.' }],
    rejected: [{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Seven.' }],
  };
  const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, jsonl([hh, trlExplicit, trlImplicit]), NDJSON);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().imported, 3, JSON.stringify(res.json().skipped));

  const stored = await h.prisma.prompt.findMany({ where: { projectId }, orderBy: { text: 'asc' } });
  assert.deepEqual(stored.find((p) => p.text.startsWith('Human: ' + hhPrompt[0].content))!.turns, hhPrompt);
  assert.deepEqual(stored.find((p) => p.text.startsWith('System:'))!.turns, chat);
  assert.equal(stored.find((p) => p.text === 'Name a colour.')!.turns, null, 'one user turn is a plain prompt');

  const exportUrl = `/v1/projects/${projectId}/export/preferences`;
  const conversational = await h.call(researcher, 'GET', `${exportUrl}?format=conversational`);
  assert.equal(conversational.statusCode, 200);
  assert.match(conversational.headers['content-disposition'] as string, /preferences-conversational\.jsonl/);
  const conv = rows(conversational.body);
  assert.equal(conv.length, 3);
  assert.ok(conv.some((r) => JSON.stringify(r) === JSON.stringify(trlExplicit)), 'a TRL row comes back as it went in');
  assert.ok(conv.some((r) => JSON.stringify(r) === JSON.stringify({ prompt: hhPrompt, chosen: [hhTurns.at(-1)], rejected: [parseHhDialogue(hh.rejected).at(-1)] })));
  assert.ok(conv.some((r) => JSON.stringify(r.prompt) === JSON.stringify([{ role: 'user', content: 'Name a colour.' }])), 'a plain prompt is one user turn');
  // standard rows are strings: a dialogue in hh-rlhf's labels
  const standard = rows((await h.call(researcher, 'GET', exportUrl)).body);
  assert.ok(standard.every((r) => typeof r.prompt === 'string' && typeof r.chosen === 'string'));
  assert.ok(standard.some((r) => r.prompt === 'System: You answer in one sentence.\n\nHuman: What is 接龙?\n\nAssistant: A word-chain game.\n\nHuman: Give an example.'));
  assert.equal(fieldOf(await h.call(researcher, 'GET', `${exportUrl}?format=trl`)), 'format');

  // importing the same pairs again stores nothing
  const again = (await h.call(researcher, 'POST', `/v1/projects/${projectId}/preferences/import`, jsonl([hh, trlExplicit, trlImplicit]), NDJSON)).json();
  assert.equal(again.duplicates, 3);
});

test('the write task hands out the dialogue, the demonstration is its next assistant turn; SFT exports and a job dataset keep the turns', async () => {
  const researcher = await h.person('Res4', ['researcher']);
  const annotator = await h.person('Ann4', ['annotator']);
  const rater = await h.person('Rater4', ['rater']);
  const projectId = await h.project(researcher, [[annotator, ['annotator']], [rater, ['rater']]], { ratersPerComparison: 1 });
  const created = await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { turns: chat });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual(created.json().prompt.turns, chat);
  const plain = (await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text: 'Say hello.' })).json().prompt;

  const demos: { id: string; promptTurns: ChatMessage[] }[] = [];
  for (let i = 0; i < 2; i++) {
    const task = (await h.call(annotator, 'GET', `/v1/projects/${projectId}/writing-task`)).json();
    const answer = task.prompt.turns.length > 1 ? '春风 → 风雨 → 雨水.' : 'Hello!';
    const demo = await h.call(annotator, 'POST', `/v1/projects/${projectId}/demonstrations`, { promptId: task.prompt.id, answer });
    assert.equal(demo.statusCode, 201, demo.body);
    demos.push(demo.json().demonstration);
    assert.equal((await h.call(researcher, 'POST', `/v1/demonstrations/${demo.json().demonstration.id}/review`, { decision: 'accept' })).statusCode, 200);
  }
  assert.ok(demos.some((d) => JSON.stringify(d.promptTurns) === JSON.stringify(chat)), 'a demonstration carries its dialogue for reviewers');

  const sft = (format: string) => h.call(researcher, 'GET', `/v1/projects/${projectId}/export/sft?format=${format}`).then((r) => rows(r.body));
  const answer = { role: 'assistant', content: '春风 → 风雨 → 雨水.' };
  assert.ok((await sft('messages')).some((r) => JSON.stringify(r) === JSON.stringify({ messages: [...chat, answer] })));
  assert.ok((await sft('conversational')).some((r) => JSON.stringify(r) === JSON.stringify({ prompt: chat, completion: [answer] })));
  assert.ok((await sft('conversational')).some((r) => JSON.stringify(r) === JSON.stringify({ prompt: [{ role: 'user', content: 'Say hello.' }], completion: [{ role: 'assistant', content: 'Hello!' }] })));
  assert.ok((await sft('prompt-completion')).every((r) => typeof r.prompt === 'string' && typeof r.completion === 'string'));

  // a comparison of candidate next turns: the rater gets the dialogue with the answers
  const comparison = await h.call(researcher, 'POST', `/v1/projects/${projectId}/comparisons`, { prompt: chat, answers: [{ text: 'One.' }, { text: 'Two.' }] });
  assert.equal(comparison.statusCode, 201, comparison.body);
  assert.deepEqual(comparison.json().comparison.promptTurns, chat);
  const task = (await h.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task;
  assert.deepEqual(task.prompt.turns, chat);
  assert.equal(task.prompt.id, created.json().prompt.id, 'the same dialogue is the same prompt');

  // an SFT job's frozen dataset is TRL conversational throughout, since one prompt is a dialogue
  const base = await h.prisma.model.create({ data: { projectId, name: 'base', kind: 'base', artifactPath: 'models/none' } });
  const job = await h.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'sft', name: 'chat sft', baseModelId: base.id });
  assert.equal(job.statusCode, 201, job.body);
  const dataset = rows((await h.call(researcher, 'GET', `/v1/jobs/${job.json().job.id}/dataset`)).body);
  assert.equal(dataset.length, 2);
  assert.ok(dataset.some((r) => JSON.stringify(r) === JSON.stringify({ prompt: chat, completion: [answer] })));
  assert.ok(dataset.some((r) => JSON.stringify(r) === JSON.stringify({ prompt: [{ role: 'user', content: plain.text }], completion: [{ role: 'assistant', content: 'Hello!' }] })));
});
