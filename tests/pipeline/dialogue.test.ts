// Dialogues through the real worker. A generate job answers a dialogue through the chat template:
// its answers to a multi-turn prompt are exactly what sampling from renderPrompt(every turn) gives
// with the job's seed, and not what the last user turn alone would give. An SFT job trains on
// demonstrations of dialogues from its TRL-conversational frozen dataset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { answerText, chatStopIds, generate, loadCheckpoint, renderPrompt, type ChatTurn } from '@jielong/ml';
import { GenerateHyperparamsSchema } from '@jielong/shared';
import { shakespeare, TINY_PRETRAIN, usePipeline, type Person } from './harness.ts';

const p = usePipeline('dialogue');
let researcher: Person;
let projectId: string;
let modelId: string;

const dialogue: ChatTurn[] = [
  { role: 'system', content: 'Speak as a player would.' },
  { role: 'user', content: 'Who is there?' },
  { role: 'assistant', content: 'Nay, answer me: stand, and unfold yourself.' },
  { role: 'user', content: 'Long live the king!' },
];

test('a generate job samples the next assistant turn of a dialogue from all its turns', async () => {
  researcher = await p.person('Rhea', ['researcher']);
  projectId = await p.project(researcher);
  await p.startWorker();

  const pretrain = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', name: 'tiny base', corpus: await shakespeare(), hyperparams: TINY_PRETRAIN });
  assert.equal(pretrain.statusCode, 201, pretrain.body);
  const base = await p.waitForJob(pretrain.json().job.id);
  assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
  modelId = (await p.prisma.model.findFirstOrThrow({ where: { jobId: base.id } })).id;

  const prompt = (await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { turns: dialogue })).json().prompt;
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'generate',
    modelIds: [modelId],
    promptIds: [prompt.id],
    hyperparams: { answersPerPrompt: 3, maxTokens: 24, temperature: 1, seed: 7 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const comparison = await p.prisma.comparison.findFirstOrThrow({ where: { jobId: job.id }, include: { answers: true, prompt: true } });
  assert.deepEqual(comparison.prompt.turns, dialogue);
  const got = comparison.answers.map((a) => a.text).sort();

  // the same sampling, here, from the rendered dialogue (the worker's settings for prompt 0, model 0)
  const hp = GenerateHyperparamsSchema.parse(job.hyperparams);
  const { model, tokenizer } = await loadCheckpoint(join(p.dataDir, 'models', modelId));
  const sample = (turns: ChatTurn[]) =>
    generate(model, renderPrompt(tokenizer!, turns), { temperature: hp.temperature, topK: hp.topK, topP: hp.topP, maxTokens: hp.maxTokens, seed: hp.seed, n: 3, stop: chatStopIds(tokenizer!) })
      .map((s) => answerText(tokenizer!, s.tokens).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim())
      .sort();
  try {
    assert.deepEqual(got, sample(dialogue));
    assert.notDeepEqual(got, sample(dialogue.slice(-1)), 'the earlier turns change the answers');
  } finally {
    model.dispose();
  }
});

test('an SFT job trains on demonstrations of dialogues (its dataset in TRL\'s conversational format)', async () => {
  const annotator = await p.person('Ann');
  await p.prisma.projectMember.create({ data: { projectId, userId: annotator.id, roles: ['annotator'] } });
  for (const [question, answer] of [['Who goes there?', 'A friend to this ground.'], ['What hour now?', 'I think it lacks of twelve.'], ['Is it the king?', 'Most like.'], ['Shall I speak?', 'Speak to it, Horatio.']]) {
    const prompt = (await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts`, { turns: [...dialogue.slice(0, 3), { role: 'user', content: question }] })).json().prompt;
    const demo = await p.call(annotator, 'POST', `/v1/projects/${projectId}/demonstrations`, { promptId: prompt.id, answer });
    assert.equal(demo.statusCode, 201, demo.body);
    assert.equal((await p.call(researcher, 'POST', `/v1/demonstrations/${demo.json().demonstration.id}/review`, { decision: 'accept' })).statusCode, 200);
  }
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'sft',
    name: 'dialogue sft',
    baseModelId: modelId,
    hyperparams: { epochs: 2, batchSize: 2, lr: 5e-3, minLr: 5e-4, warmupSteps: 1, evalEvery: 2, seed: 3 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const dataset = (await p.call(researcher, 'GET', `/v1/jobs/${res.json().job.id}/dataset`)).body.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(dataset.every((r) => Array.isArray(r.prompt) && r.prompt.length === 4 && r.completion[0].role === 'assistant'));
  const job = await p.waitForJob(res.json().job.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const model = await p.prisma.model.findFirstOrThrow({ where: { jobId: job.id } });
  assert.equal(model.kind, 'sft');
  assert.ok(typeof (model.metrics as { bestValLoss?: unknown }).bestValLoss === 'number');
});
