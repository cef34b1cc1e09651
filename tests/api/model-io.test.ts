// Model import and export through the API (the worker is not running: jobs stay queued). Uploads of
// the real stories260K llama2.c model, and refusals: each a 4xx naming the file or field, leaving
// no upload in the store and no job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FolderStore } from '@jielong/db';
import type { Job, ModelDetailResponse } from '@jielong/shared';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after } from 'node:test';
import { multipartBody, type FormPart } from '../helpers/multipart.ts';
import { fieldOf, useHarness, type Person } from './harness.ts';

const root = join(import.meta.dirname, '..', '..');
const models = join(root, '..', 'shared', 'data', 'models');
const stories = readFileSync(join(models, 'stories260K.bin'));
const tok = readFileSync(join(models, 'tok512.bin'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// small enough that a test can pass it, large enough for stories260K and its tokenizer
const LIMIT = 1_100_000;
const dataDir = mkdtempSync(join(tmpdir(), 'jielong-model-io-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));
const h = useHarness('model_io', { dataDir, importMaxBytes: LIMIT }, { queue: true });
const store = new FolderStore(dataDir);

let researcher: Person;
let rater: Person;
let projectId: string;

const upload = (who: Person | null, parts: FormPart[], headers: Record<string, string> = {}) => {
  const body = multipartBody(parts);
  return h.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/models/import`, payload: body.payload, headers: { ...(who?.auth ?? {}), ...body.headers, ...headers } });
};
const storiesParts = (): FormPart[] => [
  { field: 'files', filename: 'stories260K.bin', data: stories },
  { field: 'tokenizer', filename: 'tok512.bin', data: tok },
];

test('set-up: a researcher, a rater, a project', async () => {
  researcher = await h.person('Rhea', ['researcher']);
  rater = await h.person('Ray');
  projectId = await h.project(researcher, [[rater, ['rater']]]);
});

test('uploading stories260K (llama2.c + tokenizer) queues an import job holding both files with their sha256', async () => {
  const res = await upload(researcher, [...storiesParts(), { field: 'name', data: 'stories 260K' }], { 'idempotency-key': 'stories-1' });
  assert.equal(res.statusCode, 201, res.body);
  const job = res.json().job as Job;
  assert.equal(job.kind, 'import');
  assert.equal(job.status, 'queued');
  assert.deepEqual(job.hyperparams, {
    name: 'stories 260K',
    format: 'llama2c',
    files: [
      { name: 'stories260K.bin', bytes: stories.length, sha256: sha256(stories), tokenizer: false },
      { name: 'tok512.bin', bytes: tok.length, sha256: sha256(tok), tokenizer: true },
    ],
  });
  assert.equal(sha256(stories), 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696');
  assert.deepEqual(await store.list('imports'), [`imports/${job.id}/stories260K.bin`, `imports/${job.id}/tok512.bin`]);
  assert.ok((await store.get(`imports/${job.id}/stories260K.bin`)).equals(stories));
  const log = await h.prisma.jobLog.findFirstOrThrow({ where: { jobId: job.id } });
  assert.match(log.message, /llama2\.c checkpoint stories260K\.bin: dim 64, 5 layers, 8 heads \(4 key\/value\), vocabulary 512/);

  // a retry with the same key answers the same job and stores nothing more
  const again = await upload(researcher, [...storiesParts(), { field: 'name', data: 'stories 260K' }], { 'idempotency-key': 'stories-1' });
  assert.equal(again.statusCode, 201, again.body);
  assert.equal(again.json().job.id, job.id);
  assert.equal(await h.prisma.trainingJob.count(), 1);
  // the tokenizer is told apart by its content when it is not in a part named `tokenizer`; the
  // model is named after its weights file
  const unnamed = await upload(researcher, [
    { field: 'files', filename: 'models/tok512.bin', data: tok },
    { field: 'files', filename: 'models/stories260K.bin', data: stories },
  ]);
  assert.equal(unnamed.statusCode, 201, unnamed.body);
  const hp = unnamed.json().job.hyperparams;
  assert.equal(hp.name, 'models');
  assert.deepEqual(hp.files.map((f: { name: string; tokenizer: boolean }) => [f.name, f.tokenizer]), [['tok512.bin', true], ['stories260K.bin', false]]);
  await h.prisma.trainingJob.deleteMany({ where: { id: unnamed.json().job.id } });
  await store.remove(`imports/${unnamed.json().job.id}`);
});

test('bad uploads are refused with a 4xx naming the file or field; no upload stays and no job is made', async () => {
  const before = await store.list('imports');
  const jobs = await h.prisma.trainingJob.count();
  const safetensors = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')]);
  const hf = (architecture: string): FormPart[] => [
    { field: 'files', filename: 'tiny/config.json', data: JSON.stringify({ architectures: [architecture], model_type: 'mamba' }) },
    { field: 'files', filename: 'tiny/model.safetensors', data: safetensors },
    { field: 'files', filename: 'tiny/tokenizer.json', data: '{}' },
  ];
  const cases: [string, FormPart[], number, string, RegExp][] = [
    ['no files', [{ field: 'name', data: 'nothing' }], 400, 'files', /no files/],
    ['unknown architecture', hf('MambaForCausalLM'), 400, 'config.json', /MambaForCausalLM is not supported; supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM/],
    ['no tokenizer.json', hf('LlamaForCausalLM').slice(0, 2), 400, 'tokenizer.json', /tokenizer\.json is missing/],
    ['no weights', [hf('LlamaForCausalLM')[0], hf('LlamaForCausalLM')[2]], 400, 'model.safetensors', /model\.safetensors is missing/],
    ['a shard the index names is missing', [...hf('LlamaForCausalLM'), { field: 'files', filename: 'model.safetensors.index.json', data: JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors' } }) }], 400, 'model-00001-of-00002.safetensors', /listed in model\.safetensors\.index\.json but was not uploaded/],
    ['truncated llama2.c', [{ field: 'files', filename: 'stories260K.bin', data: stories.subarray(0, 500_000) }, { field: 'tokenizer', filename: 'tok512.bin', data: tok }], 400, 'stories260K.bin', /is 500000 bytes but its llama2\.c header .* needs 1056540/],
    ['llama2.c without tokenizer', [{ field: 'files', filename: 'stories260K.bin', data: stories }], 400, 'tokenizer', /needs its tokenizer/],
    ['a GGUF file without its magic', [{ field: 'files', filename: 'm.gguf', data: Buffer.alloc(64) }], 400, 'm.gguf', /not a GGUF file/],
    ['over the limit', [{ field: 'tokenizer', filename: 'tok512.bin', data: tok }, { field: 'files', filename: 'big.bin', data: Buffer.alloc(LIMIT) }], 413, 'big.bin', /big\.bin takes the upload past its limit of 1100000 bytes/],
    ['a hostile name', [{ field: 'files', filename: 'models/..', data: stories }], 400, 'files', /not allowed/],
    ['a control character in a name', [{ field: 'files', filename: 'a\u0001.bin', data: stories }], 400, 'files', /not allowed/],
    ['the same name twice', [{ field: 'files', filename: 'a/stories260K.bin', data: stories }, { field: 'files', filename: 'b/stories260K.bin', data: tok }], 400, 'files', /two files are named stories260K\.bin/],
    ['an unknown field', [...storiesParts(), { field: 'colour', data: 'red' }], 400, 'colour', /unknown field colour/],
    ['a format the files are not', [...storiesParts(), { field: 'format', data: 'gguf' }], 400, 'format', /format is gguf but the files are llama2c/],
    ['a bad format', [...storiesParts(), { field: 'format', data: 'onnx' }], 400, 'format', /format/],
    ['an unknown parent', [...storiesParts(), { field: 'parentId', data: '00000000-0000-4000-8000-000000000000' }], 404, 'parentId', /parent model not found/],
  ];
  for (const [what, parts, status, field, message] of cases) {
    const res = await upload(researcher, parts);
    assert.equal(res.statusCode, status, `${what}: ${res.body}`);
    assert.equal(fieldOf(res), field, `${what}: ${res.body}`);
    assert.match(res.json().error.message, message, what);
    assert.deepEqual(await store.list('imports'), before, `${what} left files`);
  }
  const json = await h.call(researcher, 'POST', `/v1/projects/${projectId}/models/import`, { files: [] });
  assert.equal(json.statusCode, 415, json.body);
  assert.equal(fieldOf(json), 'content-type');
  assert.equal(await h.prisma.trainingJob.count(), jobs);
});

test('only researchers of the project may import; the generic job route refuses import and export by kind', async () => {
  const before = await store.list('imports');
  assert.equal((await upload(rater, storiesParts())).statusCode, 403);
  assert.equal((await upload(null, storiesParts())).statusCode, 401);
  const outsider = await h.person('Otto', ['researcher']);
  assert.equal((await upload(outsider, storiesParts())).statusCode, 403);
  assert.deepEqual(await store.list('imports'), before);
  for (const kind of ['import', 'export']) {
    const res = await h.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, { kind });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(fieldOf(res), 'kind');
    assert.match(res.json().error.message, kind === 'import' ? /models\/import/ : /exports/);
  }
  assert.equal(await h.prisma.trainingJob.count(), 1);
});

test('exports: one job per model and format, PEFT only for LoRA models, no download before one finished', async () => {
  const model = await h.prisma.model.create({ data: { projectId, name: 'tiny base', kind: 'base', artifactPath: 'models/x', config: { lora: null } } });
  const url = `/v1/models/${model.id}/exports`;
  const peft = await h.call(researcher, 'POST', url, { format: 'peft' });
  assert.equal(peft.statusCode, 400, peft.body);
  assert.equal(fieldOf(peft), 'format');
  const bad = await h.call(researcher, 'POST', url, { format: 'onnx' });
  assert.equal(fieldOf(bad), 'format');
  assert.equal((await h.call(rater, 'POST', url, { format: 'hf' })).statusCode, 403);
  assert.equal((await h.call(researcher, 'POST', '/v1/models/00000000-0000-4000-8000-000000000000/exports', { format: 'hf' })).statusCode, 404);

  const first = await h.call(researcher, 'POST', url, { format: 'hf' });
  assert.equal(first.statusCode, 201, first.body);
  const job = first.json().job as Job;
  assert.deepEqual([job.kind, job.status, job.inputModelIds, job.hyperparams], ['export', 'queued', [model.id], { format: 'hf' }]);
  const second = await h.call(researcher, 'POST', url, { format: 'hf' });
  assert.equal(second.statusCode, 200, second.body);
  assert.equal(second.json().job.id, job.id);

  const download = await h.call(researcher, 'GET', `${url}/hf/download`);
  assert.equal(download.statusCode, 404, download.body);
  assert.equal(fieldOf(download), 'format');

  const detail = (await h.call(researcher, 'GET', `/v1/models/${model.id}`)).json() as ModelDetailResponse;
  assert.equal(detail.provenance, null);
  assert.deepEqual(detail.exports.map((e) => [e.jobId, e.format, e.status, e.downloadUrl]), [[job.id, 'hf', 'queued', null]]);
  assert.equal((await h.call(rater, 'GET', `${url}/hf/download`)).statusCode, 403);
});
