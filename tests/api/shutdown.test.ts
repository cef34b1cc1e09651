// Stopping the API (Ctrl+C under npm start) must not hang on a researcher's open job stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useHarness } from './harness.ts';

const h = useHarness('shutdown');

test('closing the API ends open job event streams instead of waiting for the job', async () => {
  const researcher = await h.person('Rita', ['researcher']);
  const projectId = await h.project(researcher);
  // A queued job with no worker: its stream would otherwise stay open until the job finishes.
  const job = await h.prisma.trainingJob.create({ data: { projectId, kind: 'pretrain', hyperparams: {}, inputModelIds: [] } });
  const address = await h.app.listen({ port: 0, host: '127.0.0.1' });

  const res = await fetch(`${address}/v1/jobs/${job.id}/events`, { headers: researcher.auth });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /retry|event: status/);

  const started = Date.now();
  await h.app.close();
  assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
  // the client sees its stream end (or break), not hang
  const ended = await Promise.race([
    (async () => { try { while (!(await reader.read()).done); } catch { /* reset by the server */ } return true; })(),
    new Promise((r) => setTimeout(() => r(false), 3000)),
  ]);
  assert.equal(ended, true);
});
