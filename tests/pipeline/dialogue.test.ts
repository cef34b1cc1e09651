// A generate job answers a dialogue through the chat template: the real worker's answers to a
// multi-turn prompt are exactly what sampling from renderPrompt(every turn) gives with the job's
// seed, and not what the last user turn alone would give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { answerText, chatStopIds, generate, loadCheckpoint, renderPrompt, type ChatTurn } from '@jielong/ml';
import { GenerateHyperparamsSchema } from '@jielong/shared';
import { shakespeare, TINY_PRETRAIN, usePipeline } from './harness.ts';

const p = usePipeline('dialogue');

const dialogue: ChatTurn[] = [
  { role: 'system', content: 'Speak as a player would.' },
  { role: 'user', content: 'Who is there?' },
  { role: 'assistant', content: 'Nay, answer me: stand, and unfold yourself.' },
  { role: 'user', content: 'Long live the king!' },
];

test('a generate job samples the next assistant turn of a dialogue from all its turns', async () => {
  const researcher = await p.person('Rhea', ['researcher']);
  const projectId = await p.project(researcher);
  await p.startWorker();

  const pretrain = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', name: 'tiny base', corpus: await shakespeare(), hyperparams: TINY_PRETRAIN });
  assert.equal(pretrain.statusCode, 201, pretrain.body);
  const base = await p.waitForJob(pretrain.json().job.id);
  assert.equal(base.status, 'succeeded', JSON.stringify(base.error));
  const modelId = (await p.prisma.model.findFirstOrThrow({ where: { jobId: base.id } })).id;

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
