// The three doors end to end with a real worker: the real stories260K (llama2.c) uploaded through the
// API becomes a base model with its provenance; it answers prompts; exported as a Hugging Face
// folder and downloaded as a tar, it holds a Llama config and the expected tensors; that folder
// imported back as a child answers exactly as the original at temperature 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { exportModel, generate, initBackend, loadCheckpoint } from '@jielong/ml';
import type { Job, ModelDetailResponse } from '@jielong/shared';
import { multipartBody, type FormPart } from '../helpers/multipart.ts';
import { usePipeline, type Person } from './harness.ts';

const root = join(import.meta.dirname, '..', '..');
const models = join(root, '..', 'shared', 'data', 'models');
// the sha256 sums /work/shared/data/README.md gives for the two files
const STORIES_SHA256 = 'b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696';
const TOK_SHA256 = '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312';

const p = usePipeline('model_io');
const scratch = mkdtempSync(join(tmpdir(), 'jielong-export-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let researcher: Person;
let projectId: string;
let originalId: string;
/** the exported Hugging Face folder, untarred */
let folder: string;

async function importFiles(parts: FormPart[]): Promise<Job> {
  const body = multipartBody(parts);
  const res = await p.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/models/import`, payload: body.payload, headers: { ...researcher.auth, ...body.headers } });
  assert.equal(res.statusCode, 201, res.body);
  const job = res.json().job as Job;
  const done = await p.waitForJob(job.id);
  const logs = await p.prisma.jobLog.findMany({ where: { jobId: job.id }, orderBy: { id: 'asc' } });
  assert.equal(done.status, 'succeeded', `${JSON.stringify(done.error)}\n${logs.map((l) => l.message).join('\n')}`);
  return (await p.call(researcher, 'GET', `/v1/jobs/${job.id}`)).json().job as Job;
}

/** Answers of a generate job at temperature 0, by model and prompt. */
async function greedyAnswers(modelIds: string[]): Promise<Map<string, string>> {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, {
    kind: 'generate',
    modelIds,
    promptIds: (await p.prisma.prompt.findMany({ where: { projectId }, select: { id: true } })).map((x) => x.id),
    hyperparams: { answersPerPrompt: 2, temperature: 0, maxTokens: 24, requiredRankings: 1 },
  });
  assert.equal(res.statusCode, 201, res.body);
  const done = await p.waitForJob(res.json().job.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
  const answers = await p.prisma.answer.findMany({ where: { comparison: { jobId: done.id } }, include: { comparison: { select: { promptId: true } } } });
  return new Map(answers.map((a) => [`${a.modelId} ${a.comparison.promptId}`, a.text]));
}

test('set-up: a researcher, a project with prompts, a worker', async () => {
  researcher = await p.person('Rhea', ['researcher']);
  projectId = await p.project(researcher, [], { answersPerComparison: 2 });
  const prompts = ['Once upon a time', 'Lily went to the park'];
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, prompts.map((prompt) => JSON.stringify({ prompt })).join('\n'), { 'content-type': 'application/x-ndjson' });
  assert.equal(res.statusCode, 200, res.body);
  await p.startWorker();
});

test('stories260K uploaded through the API becomes a base model with its provenance, and answers prompts', async () => {
  const job = await importFiles([
    { field: 'files', filename: 'stories260K.bin', data: readFileSync(join(models, 'stories260K.bin')) },
    { field: 'tokenizer', filename: 'tok512.bin', data: readFileSync(join(models, 'tok512.bin')) },
    { field: 'files', filename: 'LICENSE', data: 'MIT License (llama2.c)' },
  ]);
  assert.ok(job.outputModelId);
  originalId = job.outputModelId;
  const detail = (await p.call(researcher, 'GET', `/v1/models/${originalId}`)).json() as ModelDetailResponse;
  assert.equal(detail.model.kind, 'base');
  assert.equal(detail.model.name, 'stories260K');
  assert.equal(detail.model.parentId, null);
  const provenance = detail.provenance!;
  assert.ok(provenance, JSON.stringify(detail.model.config));
  assert.equal(provenance.sourceFormat, 'llama2c');
  const sums = Object.fromEntries(provenance.files.map((f) => [f.name, f.sha256]));
  assert.deepEqual(sums, { 'stories260K.bin': STORIES_SHA256, 'tok512.bin': TOK_SHA256 });
  assert.equal(provenance.licence, 'MIT License (llama2.c)');
  const logs = (await p.prisma.jobLog.findMany({ where: { jobId: job.id } })).map((l) => l.message).join('\n');
  assert.match(logs, /read stories260K\.bin: .*5 layers.*vocabulary 512/);
  // the upload is gone once the model is registered
  assert.deepEqual(readdirSync(p.dataDir).includes('imports') ? readdirSync(join(p.dataDir, 'imports')) : [], []);

  const answers = await greedyAnswers([originalId]);
  assert.equal(answers.size, 2);
  for (const text of answers.values()) assert.ok(text.length > 0, 'an empty answer');

  // the model the API registered decodes greedily from BOS exactly as llama2.c's reference does
  // (the fixture comes from bench/llama2c_reference.py, which reads the file with numpy)
  const reference = JSON.parse(readFileSync(join(root, 'tests/ml/fixtures/stories260K-greedy.json'), 'utf8')) as { ids: number[]; text: string };
  await initBackend('wasm');
  const { model, tokenizer } = await loadCheckpoint(join(p.dataDir, 'models', originalId));
  try {
    const [sample] = generate(model, [tokenizer!.bosId], { temperature: 0, maxTokens: reference.ids.length });
    assert.deepEqual(sample.tokens, reference.ids);
    assert.ok(tokenizer!.decode(sample.tokens).startsWith('Once upon a time, there was a little girl named Lily. She loved to play outside in the park.'));
  } finally {
    model.dispose();
  }
});

test('exported as a Hugging Face folder and imported back as a child, it answers as the original does', async () => {
  const created = await p.call(researcher, 'POST', `/v1/models/${originalId}/exports`, { format: 'hf' });
  assert.equal(created.statusCode, 201, created.body);
  const exportJob = await p.waitForJob(created.json().job.id);
  assert.equal(exportJob.status, 'succeeded', JSON.stringify(exportJob.error));

  const detail = (await p.call(researcher, 'GET', `/v1/models/${originalId}`)).json() as ModelDetailResponse;
  assert.equal(detail.exports[0].downloadUrl, `/v1/models/${originalId}/exports/hf/download`);
  const download = await p.call(researcher, 'GET', detail.exports[0].downloadUrl!);
  assert.equal(download.statusCode, 200, download.body);
  assert.equal(download.headers['content-type'], 'application/x-tar');
  assert.equal(download.headers['cache-control'], 'no-store');
  assert.match(String(download.headers['content-disposition']), /filename="stories260K-hf\.tar"/);
  const tarFile = join(scratch, 'export.tar');
  writeFileSync(tarFile, download.rawPayload);
  folder = join(scratch, 'stories260K-hf');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  // the system's tar: the download must be a plain tar any tool reads
  const untar = spawnSync('tar', ['-xf', tarFile, '-C', folder], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);

  for (const name of ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    assert.ok(readdirSync(folder).includes(name), `${name} missing from the export: ${readdirSync(folder).join(', ')}`);
  }
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
  assert.equal(config.architectures[0], 'LlamaForCausalLM');
  assert.equal(config.num_hidden_layers, 5);
  const weights = readFileSync(join(folder, 'model.safetensors'));
  const header = JSON.parse(weights.subarray(8, 8 + Number(weights.readBigUInt64LE(0))).toString('utf8'));
  for (const name of ['model.embed_tokens.weight', 'model.norm.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.4.mlp.down_proj.weight']) {
    assert.ok(header[name], `${name} missing from ${Object.keys(header).join(', ')}`);
  }
  assert.deepEqual(header['model.layers.0.self_attn.k_proj.weight'].shape, [32, 64]);

  const child = await importFiles(
    readdirSync(folder).map((name): FormPart => ({ field: 'files', filename: `stories260K-hf/${name}`, data: readFileSync(join(folder, name)) })),
  );
  const childId = child.outputModelId!;
  const childDetail = (await p.call(researcher, 'GET', `/v1/models/${childId}`)).json() as ModelDetailResponse;
  assert.equal(childDetail.model.name, 'stories260K-hf');
  assert.equal(childDetail.provenance?.architecture, 'LlamaForCausalLM');
  assert.equal(childDetail.model.parentId, null, 'no parentId was sent');

  // the same upload with parentId: registered as the original's child
  const withParent = await importFiles([
    ...readdirSync(folder).map((name): FormPart => ({ field: 'files', filename: name, data: readFileSync(join(folder, name)) })),
    { field: 'parentId', data: originalId },
    { field: 'name', data: 'stories round trip' },
  ]);
  const roundTrip = (await p.call(researcher, 'GET', `/v1/models/${withParent.outputModelId}`)).json() as ModelDetailResponse;
  assert.equal(roundTrip.model.parentId, originalId);
  assert.deepEqual(roundTrip.lineage.map((m) => m.id), [originalId]);

  const answers = await greedyAnswers([originalId, roundTrip.model.id]);
  const prompts = await p.prisma.prompt.findMany({ where: { projectId } });
  for (const prompt of prompts) {
    const original = answers.get(`${originalId} ${prompt.id}`);
    assert.ok(original, 'the original answered');
    assert.equal(answers.get(`${roundTrip.model.id} ${prompt.id}`), original, `answers to "${prompt.text}" differ`);
  }
});

test('a reward model trained elsewhere (…ForSequenceClassification, as TRL saves it) imports as a reward model, a child of its base', async () => {
  // A stand-in for `trl reward` on a GPU: stories260K with a scalar head, written as transformers lays it out.
  const { model, tokenizer } = await loadCheckpoint(join(p.dataDir, 'models', originalId));
  model.attachHead();
  model.params['head.w'].assign(model.params['head.w'].add(0.01));
  const reward = join(scratch, 'stories260K-reward');
  assert.equal((await exportModel(reward, model, tokenizer)).architecture, 'LlamaForSequenceClassification');
  model.dispose();
  const job = await importFiles([
    ...readdirSync(reward).map((name): FormPart => ({ field: 'files', filename: name, data: readFileSync(join(reward, name)) })),
    { field: 'parentId', data: originalId },
  ]);
  const detail = (await p.call(researcher, 'GET', `/v1/models/${job.outputModelId}`)).json() as ModelDetailResponse;
  assert.equal(detail.model.kind, 'reward');
  assert.equal(detail.model.parentId, originalId);
  assert.equal(detail.provenance?.architecture, 'LlamaForSequenceClassification');
  const imported = await loadCheckpoint(join(p.dataDir, 'models', job.outputModelId!));
  assert.ok(imported.model.hasHead);
  imported.model.dispose();
});

test('weights the API cannot judge but the reader refuses fail the job as bad data, naming the tensor; nothing is registered', async () => {
  // a well-formed safetensors file holding one tensor the Llama table has no place for
  const header = Buffer.from(JSON.stringify({ 'model.embed_tokens.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }));
  const weights = Buffer.concat([Buffer.alloc(8), header, Buffer.alloc(4)]);
  weights.writeBigUInt64LE(BigInt(header.length), 0);
  const models = await p.prisma.model.count();
  const body = multipartBody([
    { field: 'files', filename: 'config.json', data: readFileSync(join(folder, 'config.json')) },
    { field: 'files', filename: 'tokenizer.json', data: readFileSync(join(folder, 'tokenizer.json')) },
    { field: 'files', filename: 'model.safetensors', data: weights },
  ]);
  const res = await p.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/models/import`, payload: body.payload, headers: { ...researcher.auth, ...body.headers } });
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id);
  assert.equal(job.status, 'failed');
  const error = job.error as { code: string; message: string; suggestion?: string };
  assert.equal(error.code, 'bad-data');
  assert.match(error.message, /model\.embed_tokens\.weight|model\.layers\.0\./, error.message);
  assert.ok(error.suggestion);
  assert.equal(job.attempts, 1, 'bad data is not retried');
  assert.equal(await p.prisma.model.count(), models);
  assert.deepEqual(readdirSync(join(p.dataDir, 'imports')), [], 'the upload is deleted');
});
