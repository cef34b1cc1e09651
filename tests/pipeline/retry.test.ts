// A worker killed mid-run (SIGKILL: no goodbye) loses its pg-boss heartbeat; the job goes back to
// the queue, another worker picks it up and resumes from the last checkpoint, and the job finishes
// as if nothing happened. Pre-training and SFT (whose loop the reward model and DPO share).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { shakespeare, TINY_PRETRAIN, usePipeline, type Person } from './harness.ts';

const p = usePipeline('retry');
let researcher: Person;
let projectId: string;
let baseModelId: string;

/** Starts a job, SIGKILLs its worker once `past` of its `steps` are reported, lets a second worker finish it (then stops that one too). */
async function killAndRetry(body: object, steps: number, past: number): Promise<{ jobId: string; stepAtDeath: number }> {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, body);
  assert.equal(res.statusCode, 201, res.body);
  const jobId = res.json().job.id as string;
  const first: ChildProcess = p.spawnWorker();
  await p.waitForJob(jobId, (j) => j.status === 'running' && j.progress >= past / steps, 90_000);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const stepAtDeath = (await p.prisma.jobMetric.aggregate({ where: { jobId }, _max: { step: true } }))._max.step!;
  assert.ok(stepAtDeath < steps, `killed at step ${stepAtDeath}`);

  const second = p.spawnWorker();
  const job = await p.waitForJob(jobId, undefined, 120_000);
  second.kill('SIGKILL'); // idle now; the next test's job is for its own workers
  await once(second, 'exit');
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.attempts, 2);
  return { jobId, stepAtDeath };
}

/** One resume, from a checkpoint (every `every` steps) of a step already on record; each step's metric once, from the attempt that ran it. */
async function assertResumedOnce(jobId: string, steps: number, every: number, stepAtDeath: number): Promise<void> {
  const resumed = await p.prisma.jobMetric.findMany({ where: { jobId, data: { path: ['event'], equals: 'resumed' } } });
  assert.equal(resumed.length, 1);
  const from = (resumed[0].data as { resumedFrom: number }).resumedFrom;
  // the worker stores a step's metrics before it writes that step's checkpoint
  assert.ok(from > 0 && from % every === 0 && from <= stepAtDeath, `resumed from step ${from} (last metric stored: step ${stepAtDeath})`);

  // one metric per step: the steps redone after the checkpoint replaced the dead attempt's
  const trainSteps = (await p.prisma.jobMetric.findMany({ where: { jobId }, orderBy: { step: 'asc' } })).filter((m) => !(m.data as { event?: string }).event);
  assert.deepEqual(
    trainSteps.map((m) => m.step),
    Array.from({ length: steps }, (_, i) => i + 1),
  );
  const attemptOf = (m: (typeof trainSteps)[number]) => (m.data as { attempt: number }).attempt;
  assert.ok(trainSteps.filter((m) => m.step <= from).every((m) => attemptOf(m) === 1));
  assert.ok(trainSteps.filter((m) => m.step > from).every((m) => attemptOf(m) === 2));

  const logs = await p.prisma.jobLog.findMany({ where: { jobId }, orderBy: { id: 'asc' } });
  assert.ok(logs.some((l) => l.message === `attempt 2: resuming from the checkpoint at step ${from}`), logs.map((l) => l.message).join('\n'));
  assert.equal(await p.prisma.model.count({ where: { jobId } }), 1);
}

test('set-up: a researcher and a project', async () => {
  researcher = await p.person('Rhea', ['researcher']);
  projectId = await p.project(researcher);
});

test('a pre-training job whose worker dies is retried from its last checkpoint by another worker', { timeout: 180_000 }, async () => {
  const steps = 300;
  const { jobId, stepAtDeath } = await killAndRetry({ kind: 'pretrain', corpus: await shakespeare(), hyperparams: { ...TINY_PRETRAIN, steps, checkpointEvery: 25, evalEvery: 100 } }, steps, 50);
  await assertResumedOnce(jobId, steps, 25, stepAtDeath);
  baseModelId = (await p.prisma.model.findUniqueOrThrow({ where: { jobId } })).id;
});

test('an SFT job whose worker dies resumes from its last checkpoint too', { timeout: 180_000 }, async () => {
  const prompts = Array.from({ length: 10 }, (_, i) => `Name thing number ${i}.`);
  const imported = await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, prompts.map((prompt) => JSON.stringify({ prompt })).join('\n'), {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(imported.statusCode, 200, imported.body);
  for (const prompt of await p.prisma.prompt.findMany({ where: { projectId } })) {
    await p.prisma.demonstration.create({ data: { projectId, promptId: prompt.id, answer: 'A thing.', authorId: researcher.id, status: 'accepted' } });
  }
  // 10 demonstrations: 9 train in 3 steps an epoch
  const steps = 300;
  const hyperparams = { epochs: 100, batchSize: 3, evalEvery: 100, patience: 10, checkpointEvery: 25 };
  const { jobId, stepAtDeath } = await killAndRetry({ kind: 'sft', baseModelId, hyperparams }, steps, 50);
  await assertResumedOnce(jobId, steps, 25, stepAtDeath);
});
