// A gzip bomb sent to an import is refused with 413 without holding up everyone else's requests:
// a small request sent while the bomb decompresses is answered first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { fieldOf, useHarness } from './harness.ts';

const h = useHarness('decompression');

test('a decompression bomb gets 413 while other requests are served meanwhile', async () => {
  const researcher = await h.person('Res', ['researcher']);
  const projectId = await h.project(researcher);
  // ~300 MB of zeros in ~0.3 MB: past the 4 × 64 MB the API decompresses at most
  const bomb = gzipSync(Buffer.alloc(300 * 1024 * 1024), { level: 9 });
  const order: string[] = [];
  const bombDone = h
    .call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, bomb, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' })
    .then((res) => (order.push('bomb'), res));
  const smallDone = h.call(researcher, 'GET', `/v1/projects/${projectId}/prompts`).then((res) => (order.push('small'), res));
  const [bombRes, smallRes] = await Promise.all([bombDone, smallDone]);
  assert.equal(bombRes.statusCode, 413);
  assert.equal(fieldOf(bombRes), 'body');
  assert.equal(smallRes.statusCode, 200);
  assert.deepEqual(order, ['small', 'bomb'], 'the small request waited for the bomb: decompression blocked the event loop');
  assert.equal(await h.prisma.prompt.count({ where: { projectId } }), 0);
});
