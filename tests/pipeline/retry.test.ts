// A worker killed mid-run (SIGKILL: no goodbye) loses its pg-boss heartbeat; the job goes back to
// the queue, another worker picks it up and resumes from the last checkpoint, and the job finishes
// as if nothing happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { shakespeare, TINY_PRETRAIN, usePipeline } from './harness.ts';

const p = usePipeline('retry');

test('a job whose worker dies is retried from its last checkpoint by another worker', { timeout: 180_000 }, async () => {
  const researcher = await p.person('Rhea', ['researcher']);
  const projectId = await p.project(researcher);
  const steps = 300;
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'pretrain',
    corpus: await shakespeare(),
    hyperparams: { ...TINY_PRETRAIN, steps, checkpointEvery: 25, evalEvery: 100 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const jobId = res.json().job.id;

  const first = p.spawnWorker();
  // past a checkpoint, well before the end
  await p.waitForJob(jobId, (j) => j.status === 'running' && j.progress >= 50 / steps, 90_000);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const stepAtDeath = (await p.prisma.jobMetric.aggregate({ where: { jobId }, _max: { step: true } }))._max.step!;
  assert.ok(stepAtDeath < steps, `killed at step ${stepAtDeath}`);

  p.spawnWorker();
  const job = await p.waitForJob(jobId, undefined, 120_000);
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.attempts, 2);

  const resumed = await p.prisma.jobMetric.findMany({ where: { jobId, data: { path: ['event'], equals: 'resumed' } } });
  assert.equal(resumed.length, 1);
  const from = (resumed[0].data as { resumedFrom: number }).resumedFrom;
  assert.ok(from > 0 && from % 25 === 0 && from <= stepAtDeath, `resumed from step ${from} (died at ${stepAtDeath})`);

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
});
