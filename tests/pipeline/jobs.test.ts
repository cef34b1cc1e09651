// Training jobs through the API with a real queue and a real worker: who may start them, how bad
// settings are refused, the frozen dataset, progress (detail and SSE), divergence, cancel, and the
// model registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Job, JobDetailResponse, JobMetric, ModelDetailResponse } from '@jielong/shared';
import { shakespeare, TINY_PRETRAIN, usePipeline, type Person } from './harness.ts';

const p = usePipeline('jobs');
let researcher: Person;
let annotator: Person;
let rater: Person;
let outsider: Person;
let projectId: string;

test('set-up: people, a project with prompts and demonstrations, a worker', async () => {
  researcher = await p.person('Rhea', ['researcher']);
  annotator = await p.person('Ann');
  rater = await p.person('Ray');
  outsider = await p.person('Otto', ['researcher']);
  projectId = await p.project(researcher, [
    [annotator, ['annotator']],
    [rater, ['rater']],
  ]);
  const prompts = ['Name a colour.', 'Say hello.', 'Count to three.'];
  const imported = await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, prompts.map((prompt) => JSON.stringify({ prompt })).join('\n'), {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(imported.statusCode, 200, imported.body);
  await p.startWorker();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('bad hyper-parameters and inputs are refused with 400/404 naming the field; nothing is created', async () => {
  const url = `/v1/projects/${projectId}/jobs`;
  const cases: [unknown, number, string][] = [
    [{ kind: 'pretrain', hyperparams: { lr: -1 } }, 400, 'hyperparams.lr'],
    [{ kind: 'pretrain', hyperparams: { lr: 1e-3, minLr: 1e-2 } }, 400, 'hyperparams.minLr'],
    [{ kind: 'pretrain', hyperparams: { model: { nEmbd: 30, nHead: 4 } } }, 400, 'hyperparams.model.nEmbd'],
    [{ kind: 'pretrain', hyperparams: { steps: 1.5 } }, 400, 'hyperparams.steps'],
    [{ kind: 'train-harder' }, 400, 'kind'],
    [{ kind: 'sft' }, 400, 'baseModelId'],
    [{ kind: 'sft', baseModelId: '00000000-0000-4000-8000-000000000000' }, 404, 'baseModelId'],
    [{ kind: 'generate', modelIds: [] }, 400, 'modelIds'],
    [{ kind: 'grpo', policyModelId: '00000000-0000-4000-8000-000000000000' }, 400, 'rewardModelId'],
    [{ kind: 'grpo', policyModelId: '00000000-0000-4000-8000-000000000000', rewardModelId: '00000000-0000-4000-8000-000000000000', hyperparams: { groupSize: 1 } }, 400, 'hyperparams.groupSize'],
    [{ kind: 'kto', policyModelId: '00000000-0000-4000-8000-000000000000' }, 404, 'policyModelId'],
    [{ kind: 'kto', policyModelId: '00000000-0000-4000-8000-000000000000', hyperparams: { desirableWeight: 0 } }, 400, 'hyperparams.desirableWeight'],
    [{ kind: 'best_of_n', policyModelId: '00000000-0000-4000-8000-000000000000', rewardModelId: '00000000-0000-4000-8000-000000000000', hyperparams: { samplesPerPrompt: 0 } }, 400, 'hyperparams.samplesPerPrompt'],
    [{ kind: 'generate', modelIds: ['00000000-0000-4000-8000-000000000000'], hyperparams: { judge: { rewardModelId: '00000000-0000-4000-8000-000000000000' } } }, 400, 'hyperparams.judge.referenceModelId'],
  ];
  for (const [body, status, field] of cases) {
    const res = await p.call(researcher, 'POST', url, body);
    assert.equal(res.statusCode, status, `${JSON.stringify(body)} → ${res.body}`);
    assert.equal(res.json().error.field, field, JSON.stringify(body));
  }
  assert.equal(await p.prisma.trainingJob.count(), 0);
});

test('only researchers and admins of the project may start or see jobs', async () => {
  const body = { kind: 'pretrain', corpus: 'some text', hyperparams: TINY_PRETRAIN };
  for (const who of [annotator, rater, outsider]) {
    const res = await p.call(who, 'POST', `/v1/projects/${projectId}/jobs`, body);
    assert.equal(res.statusCode, 403, res.body);
  }
  assert.equal((await p.call(null, 'POST', `/v1/projects/${projectId}/jobs`, body)).statusCode, 401);
  assert.equal((await p.call(rater, 'GET', `/v1/projects/${projectId}/jobs`)).statusCode, 403);
  assert.equal(await p.prisma.trainingJob.count(), 0);
});

test('the dataset is frozen at creation: accepted demonstrations added later are not in it', async () => {
  const admin = await p.person('Ada', ['admin']);
  const prompts = await p.prisma.prompt.findMany({ where: { projectId }, orderBy: { createdAt: 'asc' } });
  const demo = (promptId: string, answer: string) =>
    p.prisma.demonstration.create({ data: { projectId, promptId, answer, authorId: annotator.id, status: 'accepted' } });
  await demo(prompts[0].id, 'Blue.');
  await demo(prompts[1].id, 'Hello!');
  await p.prisma.demonstration.create({ data: { projectId, promptId: prompts[2].id, answer: 'not reviewed yet', authorId: annotator.id } });

  // an admin (not a member) may start jobs too; the corpus is the project's text
  const res = await p.call(admin, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', hyperparams: { steps: 1 } }, { 'idempotency-key': 'freeze-1' });
  assert.equal(res.statusCode, 201, res.body);
  const job = res.json().job;
  assert.equal(job.status, 'queued');
  await p.call(admin, 'POST', `/v1/jobs/${job.id}/cancel`); // its content is what this test is about, not its training

  await demo(prompts[2].id, 'One, two, three.');
  const snapshot = job.datasetSnapshot;
  const file = readFileSync(join(p.dataDir, snapshot.path));
  assert.equal(sha256(file), snapshot.sha256);
  const rows = file.toString('utf8').trim().split('\n').map((l) => JSON.parse(l).text);
  assert.deepEqual(rows.sort(), ['Blue.', 'Count to three.', 'Hello!', 'Name a colour.', 'Say hello.']);
  assert.deepEqual({ prompts: snapshot.counts.prompts, demonstrations: snapshot.counts.demonstrations }, { prompts: 3, demonstrations: 2 });
  assert.equal(job.hyperparams.steps, 1);
  assert.equal(job.hyperparams.vocabSize, 2048, 'defaults are filled in');

  // the same Idempotency-Key replays the job instead of creating a second one
  const again = await p.call(admin, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', hyperparams: { steps: 1 } }, { 'idempotency-key': 'freeze-1' });
  assert.equal(again.statusCode, 201);
  assert.equal(again.json().job.id, job.id);
  assert.equal(await p.prisma.trainingJob.count(), 1);
});

test('SFT needs accepted demonstrations: a project without enough gets a 409 and no job', async () => {
  const empty = await p.project(researcher);
  const base = await p.prisma.model.create({ data: { projectId: empty, name: 'b', kind: 'base', artifactPath: 'models/none' } });
  const res = await p.call(researcher, 'POST', `/v1/projects/${empty}/jobs`, { kind: 'sft', baseModelId: base.id });
  assert.equal(res.statusCode, 409, res.body);
  assert.match(res.json().error.message, /accepted demonstrations/);
  assert.equal(await p.prisma.trainingJob.count({ where: { projectId: empty } }), 0);
});

let baseModelId: string;

test('a tiny pre-training job runs: progress over SSE, metrics history, a registered model with checksums', async () => {
  const corpus = await shakespeare();
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', name: 'tiny base', corpus, hyperparams: TINY_PRETRAIN });
  assert.equal(res.statusCode, 201, res.body);
  const jobId = res.json().job.id;

  // follow it live over a real HTTP connection
  const address = await p.app.listen({ port: 0, host: '127.0.0.1' });
  type Event = { event: 'status'; data: { job: Job } } | { event: 'metric'; data: JobMetric } | { event: 'log'; data: unknown };
  const events: Event[] = [];
  const stream = await fetch(`${address}/v1/jobs/${jobId}/events`, { headers: researcher.auth });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type') ?? '', /text\/event-stream/);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = stream.body!.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) } as Event);
    }
  }
  // the stream ends by itself once the job is finished
  const statuses = events.flatMap((e) => (e.event === 'status' ? [e.data.job.status] : []));
  assert.equal(statuses.at(-1), 'succeeded', JSON.stringify(events.filter((e) => e.event === 'log')));
  const metrics = events.flatMap((e) => (e.event === 'metric' ? [e.data] : []));
  assert.ok(metrics.length >= TINY_PRETRAIN.steps, `${metrics.length} metric events`);
  assert.ok(metrics.some((m) => typeof m.data.valLoss === 'number'));

  const detail = await p.call(researcher, 'GET', `/v1/jobs/${jobId}`);
  assert.equal(detail.statusCode, 200);
  const { job, metrics: history, logs } = detail.json() as JobDetailResponse;
  assert.equal(job.status, 'succeeded');
  assert.equal(job.progress, 1);
  assert.equal(job.attempts, 1);
  assert.equal(history.length, metrics.length);
  const losses = history.map((m) => m.data.loss as number);
  assert.ok(losses.at(-1)! < losses[0], `loss fell: ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(logs.some((l) => /registered base model/.test(l.message)));
  assert.deepEqual(logs.find((l) => l.code === 'registered')?.params, { kind: 'base', name: 'tiny base' });
  assert.equal(job.outputModelName, 'tiny base');

  baseModelId = job.outputModelId!;
  const model = await p.call(researcher, 'GET', `/v1/models/${baseModelId}`);
  assert.equal(model.statusCode, 200, model.body);
  const { model: m, files } = model.json() as ModelDetailResponse;
  assert.equal(m.name, 'tiny base');
  assert.equal(m.kind, 'base');
  assert.equal(m.jobId, jobId);
  assert.ok(typeof m.metrics.bestValLoss === 'number');
  assert.deepEqual(files.map((f) => f.path), ['config.json', 'manifest.json', 'tokenizer.json', 'weights.bin']);
  for (const f of files) assert.equal(sha256(readFileSync(join(p.dataDir, 'models', baseModelId, f.path))), f.sha256, f.path);
  assert.ok(!existsSync(join(p.dataDir, 'jobs', jobId, 'checkpoint')), 'training state is cleaned up');
  assert.ok(existsSync(join(p.dataDir, 'jobs', jobId, 'dataset.jsonl')), 'the dataset stays');
});

test('a generate job over the tiny model stores answers without any special token\'s text or U+FFFD', async () => {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'generate',
    modelIds: [baseModelId],
    // a pre-trained base says <|endoftext|> often: long answers at a high temperature give it the chance
    hyperparams: { answersPerPrompt: 4, maxTokens: 48, temperature: 1.2, topP: 1 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const answers = await p.prisma.answer.findMany({ where: { comparison: { jobId: job.id } } });
  assert.equal(answers.length, 3 * 4);
  const tokenizer = JSON.parse(readFileSync(join(p.dataDir, 'models', baseModelId, 'tokenizer.json'), 'utf8')) as { specialTokens: Record<string, number> };
  const specials = Object.keys(tokenizer.specialTokens);
  assert.ok(specials.includes('<|endoftext|>') && specials.includes('<|end|>'));
  for (const a of answers) {
    for (const special of specials) assert.ok(!a.text.includes(special), `answer holds ${special}: ${JSON.stringify(a.text)}`);
    assert.ok(!a.text.includes('\uFFFD'), `answer holds U+FFFD: ${JSON.stringify(a.text)}`);
  }
  const logs = await p.prisma.jobLog.findMany({ where: { jobId: job.id, code: 'generated' } });
  assert.deepEqual(logs.map((l) => l.params), [{ prompts: 3, answers: 4 }]);
  // the three prompts are sampled as one batch; the metrics split the time between sampling and storing
  const { metrics } = (await p.call(researcher, 'GET', `/v1/jobs/${job.id}`)).json() as JobDetailResponse;
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3]);
  const time = metrics.at(-1)!.data as { sampleSeconds: number; otherSeconds: number };
  assert.ok(time.sampleSeconds > 0 && time.otherSeconds > 0, JSON.stringify(time));
});

test('a learning rate that makes the loss explode fails the job with "diverged" and a suggestion', async () => {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'pretrain',
    corpus: await shakespeare(),
    hyperparams: { ...TINY_PRETRAIN, steps: 200, lr: 30, minLr: 1, warmupSteps: 0, gradClip: 0 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id);
  assert.equal(job.status, 'failed');
  const error = job.error as { code: string; message: string; suggestion: string; params: { lr: number; step: number; suggestedLr: number } };
  assert.equal(error.code, 'diverged');
  assert.match(error.message, /step \d+/);
  // a tenth of the rate that blew up at most, and no more than pre-training's default
  assert.match(error.suggestion, /lower the learning rate, e\.g\. lr=1e-3/);
  assert.equal(error.params.suggestedLr, 1e-3);
  assert.ok(error.params.lr > 1 && Number.isInteger(error.params.step), JSON.stringify(error.params));
  const failed = await p.prisma.jobLog.findFirstOrThrow({ where: { jobId: job.id, code: 'failed' } });
  assert.equal((failed.params as { reason: string }).reason, 'diverged');
  assert.equal(await p.prisma.model.count({ where: { jobId: job.id } }), 0);
});

test('cancel: a queued job is canceled at once, a running one stops at its next step', async () => {
  const corpus = await shakespeare();
  const long = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', corpus, hyperparams: { ...TINY_PRETRAIN, steps: 100_000 } });
  const queued = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind: 'pretrain', corpus, hyperparams: TINY_PRETRAIN });
  const longId = long.json().job.id;
  const queuedId = queued.json().job.id;
  await p.waitForJob(longId, (j) => j.status === 'running' && j.progress > 0);

  // one worker, busy: the second job waits in the queue
  const dropped = await p.call(researcher, 'POST', `/v1/jobs/${queuedId}/cancel`);
  assert.equal(dropped.statusCode, 200, dropped.body);
  assert.equal(dropped.json().job.status, 'canceled');
  assert.equal(dropped.json().job.error.code, 'canceled');

  const asked = await p.call(researcher, 'POST', `/v1/jobs/${longId}/cancel`);
  assert.equal(asked.json().job.cancelRequested, true);
  const stopped = await p.waitForJob(longId, undefined, 30_000);
  assert.equal(stopped.status, 'canceled');
  assert.match((stopped.error as { message: string }).message, /canceled at step \d+/);
  assert.ok(stopped.progress < 0.01);
  assert.equal(await p.prisma.model.count({ where: { jobId: longId } }), 0);

  assert.equal((await p.call(researcher, 'POST', `/v1/jobs/${longId}/cancel`)).statusCode, 409, 'a finished job cannot be canceled');
  // the worker never runs the job canceled while queued
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await p.prisma.trainingJob.findUniqueOrThrow({ where: { id: queuedId } })).attempts, 0);
});

test('the job list shows the project\'s jobs newest first, with their output model', async () => {
  const res = await p.call(researcher, 'GET', `/v1/projects/${projectId}/jobs?status=succeeded&kind=pretrain`);
  assert.equal(res.statusCode, 200);
  const { items } = res.json();
  assert.equal(items.length, 1);
  assert.equal(items[0].outputModelId, baseModelId);
});
