import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldOf, useHarness, type Person } from './harness.ts';

const h = useHarness('demos');

async function team() {
  const researcher = await h.person('Res', ['researcher']);
  const annotator = await h.person('Ann', ['annotator']);
  const rater = await h.person('Rat', ['rater']);
  const projectId = await h.project(researcher, [[annotator, ['annotator']], [rater, ['rater']]]);
  const prompts: string[] = [];
  for (const text of ['First prompt', 'Second prompt', 'Third prompt']) {
    prompts.push((await h.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { text })).json().prompt.id);
  }
  return { researcher, annotator, rater, projectId, prompts };
}

const write = (who: Person, projectId: string, body: object, headers?: Record<string, string>) =>
  h.call(who, 'POST', `/v1/projects/${projectId}/demonstrations`, body, headers);

test('writing queue: next prompt, submit, skip with a reason, until the queue is empty', async () => {
  const { annotator, rater, projectId, prompts } = await team();
  const next = () => h.call(annotator, 'GET', `/v1/projects/${projectId}/writing-task`);

  const first = (await next()).json();
  assert.equal(first.remaining, 3);
  assert.equal(first.prompt.id, prompts[0]);
  assert.equal((await write(annotator, projectId, { promptId: first.prompt.id, answer: 'An answer.' })).statusCode, 201);

  const second = (await next()).json();
  assert.equal(second.remaining, 2);
  assert.notEqual(second.prompt.id, prompts[0]);
  const noReason = await h.call(annotator, 'POST', `/v1/prompts/${second.prompt.id}/skip`, { reason: '' });
  assert.equal(fieldOf(noReason), 'reason');
  assert.equal((await h.call(annotator, 'POST', `/v1/prompts/${second.prompt.id}/skip`, { reason: 'not my language' })).statusCode, 200);
  assert.equal((await h.prisma.writeSkip.findFirstOrThrow({ where: { userId: annotator.id } })).reason, 'not my language');

  const third = (await next()).json();
  assert.equal(third.remaining, 1);
  await write(annotator, projectId, { promptId: third.prompt.id, answer: 'Another.' });
  assert.deepEqual((await next()).json(), { prompt: null, remaining: 0 });

  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/writing-task`)).statusCode, 403);
  assert.equal((await h.call(rater, 'POST', `/v1/prompts/${prompts[0]}/skip`, { reason: 'x' })).statusCode, 403);
});

test('annotators submit for a queue prompt or a new instruction of their own; validation names fields', async () => {
  const { annotator, rater, projectId, prompts } = await team();
  const own = await write(annotator, projectId, { instruction: 'Explain tides to a child.', answer: 'The moon pulls the sea.' });
  assert.equal(own.statusCode, 201);
  const prompt = await h.prisma.prompt.findUniqueOrThrow({ where: { id: own.json().demonstration.promptId } });
  assert.equal(prompt.source, 'written');
  assert.equal(prompt.authorId, annotator.id);

  const both = await write(annotator, projectId, { promptId: prompts[0], instruction: 'x', answer: 'y' });
  assert.equal(both.statusCode, 400);
  assert.equal(fieldOf(both), 'promptId');
  const noAnswer = await write(annotator, projectId, { promptId: prompts[0], answer: ' ' });
  assert.equal(fieldOf(noAnswer), 'answer');
  const unknown = await write(annotator, projectId, { promptId: '00000000-0000-4000-8000-000000000000', answer: 'y' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(fieldOf(unknown), 'promptId');
  assert.equal((await write(rater, projectId, { promptId: prompts[0], answer: 'y' })).statusCode, 403);

  // a second answer to the same prompt by the same person is a conflict (edit the first instead)
  assert.equal((await write(annotator, projectId, { promptId: prompts[0], answer: 'one' })).statusCode, 201);
  assert.equal((await write(annotator, projectId, { promptId: prompts[0], answer: 'two' })).statusCode, 409);
});

test('a retried submission with the same Idempotency-Key stores one demonstration', async () => {
  const { annotator, projectId, prompts } = await team();
  const key = { 'idempotency-key': 'demo-1' };
  const results = await Promise.all([1, 2, 3].map(() => write(annotator, projectId, { promptId: prompts[1], answer: 'Once.' }, key)));
  assert.ok(results.some((r) => r.statusCode === 201));
  for (const r of results) assert.ok([201, 409].includes(r.statusCode), r.body);
  assert.equal(await h.prisma.demonstration.count({ where: { authorId: annotator.id } }), 1);
  const later = await write(annotator, projectId, { promptId: prompts[1], answer: 'Once.' }, key);
  assert.equal(later.statusCode, 201);
  assert.equal(later.headers['idempotent-replayed'], 'true');
});

test('my contributions; edit own until reviewed; review accepts, rejects with a note, edits', async () => {
  const { researcher, annotator, projectId, prompts } = await team();
  const other = await h.person('Other', ['annotator']);
  await h.prisma.projectMember.create({ data: { projectId, userId: other.id, roles: ['annotator'] } });
  const d1 = (await write(annotator, projectId, { promptId: prompts[0], answer: 'Draft one' })).json().demonstration;
  const d2 = (await write(annotator, projectId, { promptId: prompts[1], answer: 'Draft two' })).json().demonstration;
  await write(other, projectId, { promptId: prompts[0], answer: 'Someone else' });

  const mine = await h.call(annotator, 'GET', `/v1/projects/${projectId}/demonstrations?mine=true`);
  assert.equal(mine.json().total, 2);
  assert.equal(mine.json().items[0].promptText.endsWith('prompt'), true);
  // the whole queue is for reviewers only
  assert.equal((await h.call(annotator, 'GET', `/v1/projects/${projectId}/demonstrations`)).statusCode, 403);
  assert.equal((await h.call(researcher, 'GET', `/v1/projects/${projectId}/demonstrations?status=submitted`)).json().total, 3);

  assert.equal((await h.call(annotator, 'PATCH', `/v1/demonstrations/${d1.id}`, { answer: 'Better one' })).json().demonstration.answer, 'Better one');
  assert.equal((await h.call(other, 'PATCH', `/v1/demonstrations/${d1.id}`, { answer: 'Hijack' })).statusCode, 403);
  assert.equal(fieldOf(await h.call(annotator, 'PATCH', `/v1/demonstrations/${d1.id}`, { answer: '' })), 'answer');
  assert.equal((await h.call(other, 'GET', `/v1/demonstrations/${d1.id}`)).statusCode, 403);

  assert.equal((await h.call(annotator, 'POST', `/v1/demonstrations/${d1.id}/review`, { decision: 'accept' })).statusCode, 403);
  const noNote = await h.call(researcher, 'POST', `/v1/demonstrations/${d2.id}/review`, { decision: 'reject' });
  assert.equal(noNote.statusCode, 400);
  assert.equal(fieldOf(noNote), 'note');
  const badDecision = await h.call(researcher, 'POST', `/v1/demonstrations/${d2.id}/review`, { decision: 'maybe' });
  assert.equal(fieldOf(badDecision), 'decision');

  const accepted = await h.call(researcher, 'POST', `/v1/demonstrations/${d1.id}/review`, { decision: 'accept', answer: 'Better one, polished.' });
  assert.equal(accepted.json().demonstration.status, 'accepted');
  assert.equal(accepted.json().demonstration.answer, 'Better one, polished.');
  assert.equal(accepted.json().demonstration.reviewerId, researcher.id);
  const rejected = await h.call(researcher, 'POST', `/v1/demonstrations/${d2.id}/review`, { decision: 'reject', note: 'Off topic.' });
  assert.equal(rejected.json().demonstration.reviewNote, 'Off topic.');

  const late = await h.call(annotator, 'PATCH', `/v1/demonstrations/${d1.id}`, { answer: 'Sneaky edit' });
  assert.equal(late.statusCode, 409);
  assert.equal((await h.call(annotator, 'GET', `/v1/demonstrations/${d1.id}`)).json().demonstration.answer, 'Better one, polished.');
  assert.equal((await h.call(researcher, 'POST', `/v1/demonstrations/00000000-0000-4000-8000-000000000000/review`, { decision: 'accept' })).statusCode, 404);

  // a rejected prompt comes back to its author's queue
  const queue = (await h.call(annotator, 'GET', `/v1/projects/${projectId}/writing-task`)).json();
  assert.equal(queue.remaining, 2);
});

test('a rejected demonstration, revised by its author, goes back to review; an accepted one stays locked', async () => {
  const { researcher, annotator, projectId, prompts } = await team();
  const other = await h.person('Other', ['annotator']);
  await h.prisma.projectMember.create({ data: { projectId, userId: other.id, roles: ['annotator'] } });
  const d = (await write(annotator, projectId, { promptId: prompts[0], answer: 'Too short.' })).json().demonstration;
  await h.call(researcher, 'POST', `/v1/demonstrations/${d.id}/review`, { decision: 'reject', note: 'Explain why.' });

  assert.equal((await h.call(other, 'PATCH', `/v1/demonstrations/${d.id}`, { answer: 'Hijack' })).statusCode, 403);
  const revised = await h.call(annotator, 'PATCH', `/v1/demonstrations/${d.id}`, { answer: 'Longer, with the reason.' });
  assert.equal(revised.statusCode, 200, revised.body);
  assert.deepEqual(
    (({ status, answer, reviewNote, reviewerId, reviewedAt }) => ({ status, answer, reviewNote, reviewerId, reviewedAt }))(revised.json().demonstration),
    { status: 'submitted', answer: 'Longer, with the reason.', reviewNote: 'Explain why.', reviewerId: null, reviewedAt: null },
  );
  const queue = (await h.call(researcher, 'GET', `/v1/projects/${projectId}/demonstrations?status=submitted`)).json();
  assert.deepEqual(queue.items.map((x: { id: string }) => x.id), [d.id]);
  // the prompt is answered again, so it leaves its author's writing queue
  assert.equal((await h.call(annotator, 'GET', `/v1/projects/${projectId}/writing-task`)).json().remaining, 2);

  const accepted = await h.call(researcher, 'POST', `/v1/demonstrations/${d.id}/review`, { decision: 'accept' });
  assert.equal(accepted.json().demonstration.reviewNote, null);
  const late = await h.call(annotator, 'PATCH', `/v1/demonstrations/${d.id}`, { answer: 'After acceptance' });
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error.code, 'already_reviewed');

  // rejected, then answered afresh from the queue: reviving the old one would make two answers to review
  const e = (await write(annotator, projectId, { promptId: prompts[1], answer: 'First try' })).json().demonstration;
  await h.call(researcher, 'POST', `/v1/demonstrations/${e.id}/review`, { decision: 'reject', note: 'Off topic.' });
  assert.equal((await write(annotator, projectId, { promptId: prompts[1], answer: 'Second try' })).statusCode, 201);
  const twice = await h.call(annotator, 'PATCH', `/v1/demonstrations/${e.id}`, { answer: 'First try, revised' });
  assert.equal(twice.statusCode, 409);
  assert.equal(twice.json().error.code, 'already_submitted');
  assert.equal((await h.call(annotator, 'GET', `/v1/demonstrations/${e.id}`)).json().demonstration.status, 'rejected');
});

test('SFT export streams accepted demonstrations only, as prompt/completion or messages', async () => {
  const { researcher, annotator, rater, projectId, prompts } = await team();
  const a = (await write(annotator, projectId, { promptId: prompts[0], answer: 'Kept' })).json().demonstration;
  const b = (await write(annotator, projectId, { promptId: prompts[1], answer: 'Dropped' })).json().demonstration;
  await write(annotator, projectId, { promptId: prompts[2], answer: 'Not reviewed' });
  await h.call(researcher, 'POST', `/v1/demonstrations/${a.id}/review`, { decision: 'accept' });
  await h.call(researcher, 'POST', `/v1/demonstrations/${b.id}/review`, { decision: 'reject', note: 'no' });

  const plain = await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/sft`);
  assert.equal(plain.statusCode, 200);
  assert.match(plain.headers['content-type'] as string, /application\/x-ndjson/);
  assert.equal(plain.headers['content-disposition'], 'attachment; filename="p-sft-prompt-completion.jsonl"');
  assert.deepEqual(plain.body.trim().split('\n').map((l) => JSON.parse(l)), [{ prompt: 'First prompt', completion: 'Kept' }]);

  const chat = await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/sft?format=messages`);
  assert.equal(chat.headers['content-disposition'], 'attachment; filename="p-sft-messages.jsonl"');
  assert.deepEqual(JSON.parse(chat.body.trim()), { messages: [{ role: 'user', content: 'First prompt' }, { role: 'assistant', content: 'Kept' }] });

  assert.equal(fieldOf(await h.call(researcher, 'GET', `/v1/projects/${projectId}/export/sft?format=csv`)), 'format');
  assert.equal((await h.call(annotator, 'GET', `/v1/projects/${projectId}/export/sft`)).statusCode, 403);
  assert.equal((await h.call(rater, 'GET', `/v1/projects/${projectId}/export/sft`)).statusCode, 403);
});
