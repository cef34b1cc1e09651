// The playground through the real API and a real worker: who may chat, bad input named by field, an
// answer streamed token by token over SSE (its first text arrives before the worker has finished
// sampling), exactly what sampling the rendered dialogue gives, a warm model on the next turn, a stop
// that ends it early, and a kept answer that becomes a demonstration once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { answerText, chatStopIds, generate, loadCheckpoint, renderPrompt, type ChatTurn } from '@jielong/ml';
import type { PlaygroundReply } from '@jielong/shared';
import { shakespeare, TINY_PRETRAIN, usePipeline, type Person } from './harness.ts';

const p = usePipeline('playground');
let researcher: Person;
let projectId: string;
let modelId: string;
let address: string;

interface Streamed {
  deltas: { text: string; at: number }[];
  replies: PlaygroundReply[];
}

/** Follows a reply's SSE stream to its end; `onDelta` runs on the first delta. */
async function follow(who: Person, replyId: string, onFirstDelta?: () => Promise<void>): Promise<Streamed> {
  const res = await fetch(`${address}/v1/playground/replies/${replyId}/events`, { headers: who.auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const out: Streamed = { deltas: [], replies: [] };
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = res.body!.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || !data) continue;
      if (event === 'delta') {
        out.deltas.push({ text: JSON.parse(data).text, at: Date.now() });
        if (out.deltas.length === 1) await onFirstDelta?.();
      }
      if (event === 'reply') out.replies.push(JSON.parse(data).reply);
    }
  }
  return out;
}

const ask = (who: Person, body: unknown) => p.call(who, 'POST', `/v1/projects/${projectId}/playground/replies`, body);

test('setup: a tiny base model and a worker', async () => {
  researcher = await p.person('Rhea', ['researcher']);
  projectId = await p.project(researcher);
  await p.startWorker();
  const pretrain = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', name: 'tiny base', corpus: await shakespeare(), hyperparams: TINY_PRETRAIN });
  assert.equal(pretrain.statusCode, 201, pretrain.body);
  const job = await p.waitForJob(pretrain.json().job.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  modelId = (await p.prisma.model.findFirstOrThrow({ where: { jobId: job.id } })).id;
  address = await p.app.listen({ port: 0, host: '127.0.0.1' });
});

test('researchers chat; annotators only where the project allows it; raters never', async () => {
  const annotator = await p.person('Ann');
  const rater = await p.person('Ray');
  await p.prisma.projectMember.createMany({ data: [{ projectId, userId: annotator.id, roles: ['annotator'] }, { projectId, userId: rater.id, roles: ['rater'] }] });
  const models = `/v1/projects/${projectId}/playground/models`;
  assert.equal((await p.call(null, 'GET', models)).statusCode, 401);
  assert.equal((await p.call(annotator, 'GET', models)).statusCode, 403);
  const listed = await p.call(researcher, 'GET', models);
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(listed.json().items.map((m: { id: string }) => m.id), [modelId]);

  const opened = await p.call(researcher, 'PATCH', `/v1/projects/${projectId}`, { playgroundForAnnotators: true });
  assert.equal(opened.json().project.playgroundForAnnotators, true);
  assert.equal((await p.call(annotator, 'GET', models)).statusCode, 200);
  assert.equal((await p.call(rater, 'GET', models)).statusCode, 403);
  assert.equal((await ask(rater, { modelId, turns: [{ role: 'user', content: 'Hi' }] })).statusCode, 403);

  // a reply is its asker's alone
  const mine = await ask(annotator, { modelId, turns: [{ role: 'user', content: 'Hi' }], sampling: { maxTokens: 4 } });
  assert.equal(mine.statusCode, 201, mine.body);
  assert.equal((await p.call(researcher, 'GET', `/v1/playground/replies/${mine.json().reply.id}`)).statusCode, 403);
  await p.call(researcher, 'PATCH', `/v1/projects/${projectId}`, { playgroundForAnnotators: false });
  assert.equal((await p.call(annotator, 'GET', `/v1/playground/replies/${mine.json().reply.id}`)).statusCode, 403);
});

test('bad input is a 400 naming the field', async () => {
  const cases: [unknown, string][] = [
    [{ turns: [{ role: 'user', content: 'Hi' }] }, 'modelId'],
    [{ modelId, turns: [] }, 'turns'],
    [{ modelId, turns: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }, 'turns.1.role'],
    [{ modelId, turns: [{ role: 'user', content: '  ' }] }, 'turns.0.content'],
    [{ modelId, turns: [{ role: 'user', content: 'Hi' }], sampling: { temperature: 9 } }, 'sampling.temperature'],
    [{ modelId, turns: [{ role: 'user', content: 'Hi' }], sampling: { maxTokens: 0 } }, 'sampling.maxTokens'],
    [{ modelId, turns: [{ role: 'user', content: 'Hi' }], sampling: { topP: 0 } }, 'sampling.topP'],
  ];
  for (const [body, field] of cases) {
    const res = await ask(researcher, body);
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    assert.equal(res.json().error.field, field, res.body);
  }
  const unknown = await ask(researcher, { modelId: '00000000-0000-4000-8000-000000000000', turns: [{ role: 'user', content: 'Hi' }] });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error.field, 'modelId');
});

const turns: ChatTurn[] = [
  { role: 'system', content: 'Speak as a player would.' },
  { role: 'user', content: 'Who is there?' },
];
// top-k 5 keeps the special tokens (which end an answer) out of reach: the answer runs to maxTokens, about a second here
const sampling = { temperature: 1, topK: 5, topP: 1, maxTokens: 4096, seed: 11 };

/** What the worker must have written: sampling from the rendered dialogue, here. */
async function expected(dialogue: ChatTurn[]): Promise<string> {
  const { model, tokenizer } = await loadCheckpoint(join(p.dataDir, 'models', modelId));
  try {
    const [s] = generate(model, renderPrompt(tokenizer!, dialogue), { ...sampling, n: 1, stop: chatStopIds(tokenizer!) });
    return answerText(tokenizer!, s.tokens).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
  } finally {
    model.dispose();
  }
}

let firstReply: PlaygroundReply;

test('an answer streams token by token, through the chat template, with no special-token text', async () => {
  const res = await ask(researcher, { modelId, turns, sampling });
  assert.equal(res.statusCode, 201, res.body);
  const { deltas, replies } = await follow(researcher, res.json().reply.id);
  const final = replies.at(-1)!;
  assert.equal(final.status, 'succeeded', JSON.stringify(final.error));
  assert.ok(deltas.length >= 2, `${deltas.length} deltas; ${JSON.stringify(final.stats)}`);
  // the first text reached the client before the worker had sampled the last token
  assert.ok(deltas[0].at < Date.parse(final.finishedAt!), `first delta at ${deltas[0].at}, finished at ${Date.parse(final.finishedAt!)}`);
  // the last reply event carries the whole answer; the deltas before it are its beginning
  assert.ok(final.text.startsWith(deltas.map((d) => d.text).join('').trim()), 'the deltas begin the final text');
  assert.equal(final.text, await expected(turns));
  assert.doesNotMatch(final.text, /<\|(end|user|assistant|system|endoftext)\|>/);
  assert.equal(final.finish, 'length', 'this seed writes up to maxTokens (the stop test below relies on it)');
  assert.ok(final.stats.tokens === sampling.maxTokens && final.stats.firstTokenMs !== undefined, JSON.stringify(final.stats));
  console.log(`# ${final.stats.tokens} tokens in ${final.stats.ms} ms, first after ${final.stats.firstTokenMs} ms; first delta ${Date.parse(final.finishedAt!) - deltas[0].at} ms before the end`);
  firstReply = final;
});

test('the next turn continues the dialogue on the warm model', async () => {
  const next: ChatTurn[] = [...turns, { role: 'assistant', content: firstReply.text || 'Nay.' }, { role: 'user', content: 'Long live the king!' }];
  const res = await ask(researcher, { modelId, turns: next, sampling });
  assert.equal(res.statusCode, 201, res.body);
  const final = (await follow(researcher, res.json().reply.id)).replies.at(-1)!;
  assert.equal(final.status, 'succeeded');
  assert.equal(final.stats.loadMs, 0, 'the worker kept the model loaded');
  const first = await p.prisma.playgroundReply.findFirstOrThrow({ where: { projectId }, orderBy: { createdAt: 'asc' } });
  assert.ok((first.stats as { loadMs: number }).loadMs > 0, 'the first reply loaded it');
  assert.deepEqual(final.turns, next);
  assert.equal(final.text, await expected(next));
});

test('a stop ends the answer early and keeps what was written', async () => {
  // the first test's settings: they write up to maxTokens, with no stop token on the way
  const res = await ask(researcher, { modelId, turns, sampling });
  const id = res.json().reply.id;
  const { replies } = await follow(researcher, id, async () => {
    const stopped = await p.call(researcher, 'POST', `/v1/playground/replies/${id}/stop`);
    assert.equal(stopped.statusCode, 200, stopped.body);
  });
  const final = replies.at(-1)!;
  assert.equal(final.status, 'stopped');
  assert.ok(final.stats.tokens! < sampling.maxTokens, `${final.stats.tokens} tokens`);
});

test('a good answer is kept as a demonstration of the dialogue, once', async () => {
  const keep = `/v1/playground/replies/${firstReply.id}/demonstration`;
  const other = await p.person('Otto', ['researcher']);
  await p.prisma.projectMember.create({ data: { projectId, userId: other.id, roles: ['researcher'] } });
  assert.equal((await p.call(other, 'POST', keep, {})).statusCode, 403);
  const kept = await p.call(researcher, 'POST', keep, {});
  assert.equal(kept.statusCode, 201, kept.body);
  const demonstration = kept.json().demonstration;
  assert.equal(demonstration.status, 'submitted');
  assert.equal(demonstration.answer, firstReply.text);
  assert.deepEqual(demonstration.promptTurns, turns);
  const again = await p.call(researcher, 'POST', keep, {});
  assert.equal(again.statusCode, 409);
  assert.equal(again.json().error.code, 'already_kept');
  const queue = await p.call(researcher, 'GET', `/v1/projects/${projectId}/demonstrations?status=submitted`);
  assert.deepEqual(queue.json().items.map((d: { id: string }) => d.id), [demonstration.id]);
  assert.equal((await p.call(researcher, 'GET', `/v1/playground/replies/${firstReply.id}`)).json().reply.demonstrationId, demonstration.id);
});
