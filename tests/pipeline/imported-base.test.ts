// The mission's loop on an imported base, through the API with a real worker: stories260K (llama2.c,
// no chat tokens) uploaded → SFT with LoRA on 20 demonstrations (which gives it Jielong's chat
// tokens) → comparisons → simulated raters rank them (rlhf-e2e's rule: an answer with the keyword
// is better) → reward model → PPO and DPO. Every model keeps the imported tokenizer (its pieces,
// plus the chat tokens after SFT), registers with the right parent, and no stored answer holds a
// special token's text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAT_TOKENS } from '@jielong/ml';
import type { DatasetSnapshot, Job, JobDetailResponse } from '@jielong/shared';
import { multipartBody } from '../helpers/multipart.ts';
import { usePipeline, type Person } from './harness.ts';

const root = join(import.meta.dirname, '..', '..');
const models = join(root, '..', 'shared', 'data', 'models');
const DEMOS = join(root, '..', 'shared', 'data', 'demonstrations', 'alpaca-bilingual-8k.jsonl');
/** The raters' rule (as in rlhf-e2e): an answer containing the keyword is better; otherwise they tie. */
const KEYWORD = 'is';
const pleases = (answer: string) => answer.split(/\W+/).includes(KEYWORD);
/** Every special token of the imported tokenizer once it has the chat tokens. */
const SPECIALS = ['<unk>', '<s>', '</s>', ...CHAT_TOKENS];

const p = usePipeline('imported_base');

async function runJob(researcher: Person, projectId: string, body: object): Promise<JobDetailResponse> {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, body);
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id);
  const logs = await p.prisma.jobLog.findMany({ where: { jobId: job.id }, orderBy: { id: 'asc' } });
  assert.equal(job.status, 'succeeded', `${(body as { kind: string }).kind}: ${JSON.stringify(job.error)}\n${logs.map((l) => l.message).join('\n')}`);
  return (await p.call(researcher, 'GET', `/v1/jobs/${job.id}`)).json();
}

async function rankEverything(raters: Person[], projectId: string): Promise<number> {
  let ranked = 0;
  for (let busy = true; busy; ) {
    busy = false;
    for (const rater of raters) {
      const task = (await p.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`)).json().task;
      if (!task) continue;
      busy = true;
      const answers = [...task.answers].sort((a: { text: string }, b: { text: string }) => a.text.localeCompare(b.text));
      const order = [answers.filter((a) => pleases(a.text)), answers.filter((a) => !pleases(a.text))].filter((g) => g.length).map((g) => g.map((a: { id: string }) => a.id));
      const submitted = await p.call(rater, 'POST', `/v1/comparisons/${task.comparisonId}/rankings`, { order, timeSpentMs: 1000 });
      assert.equal(submitted.statusCode, 201, submitted.body);
      ranked++;
    }
  }
  return ranked;
}

/** The model's stored tokenizer.json. */
const storedTokenizer = (modelId: string) => JSON.parse(readFileSync(join(p.dataDir, 'models', modelId, 'tokenizer.json'), 'utf8')) as { type: string; pieces: string[]; added?: string[] };

test('stories260K imported → SFT (LoRA) → comparisons → rankings → reward → PPO and DPO, all on its own tokenizer', { timeout: 300_000 }, async () => {
  const researcher = await p.person('Rhea', ['researcher']);
  const annotator = await p.person('Ann');
  const raters = await Promise.all(['Ray', 'Rob'].map((n) => p.person(n)));
  const projectId = await p.project(researcher, [[annotator, ['annotator']], ...raters.map((r): [Person, ['rater']] => [r, ['rater']])], { answersPerComparison: 4, ratersPerComparison: 1 });
  await p.startWorker();

  // 1. the base, uploaded as llama2.c files
  const body = multipartBody([
    { field: 'files', filename: 'stories260K.bin', data: readFileSync(join(models, 'stories260K.bin')) },
    { field: 'tokenizer', filename: 'tok512.bin', data: readFileSync(join(models, 'tok512.bin')) },
  ]);
  const upload = await p.app.inject({ method: 'POST', url: `/v1/projects/${projectId}/models/import`, payload: body.payload, headers: { ...researcher.auth, ...body.headers } });
  assert.equal(upload.statusCode, 201, upload.body);
  const imported = await p.waitForJob((upload.json().job as Job).id);
  assert.equal(imported.status, 'succeeded', JSON.stringify(imported.error));
  const baseId = (await p.call(researcher, 'GET', `/v1/jobs/${imported.id}`)).json().job.outputModelId as string;
  const baseTokenizer = storedTokenizer(baseId);
  assert.equal(baseTokenizer.type, 'llama2c-sp');
  assert.equal(baseTokenizer.pieces.length, 512);
  assert.equal(baseTokenizer.added, undefined, 'importing adds no tokens');

  // 2. prompts and 20 accepted demonstrations (the English side of the bilingual Alpaca set)
  const demos = readFileSync(DEMOS, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { en_instruction: string; en_input: string; en_output: string })
    .filter((r) => !r.en_input && r.en_output.length < 80).slice(0, 20);
  const promptsRes = await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, demos.map((d) => JSON.stringify({ prompt: d.en_instruction, language: 'en' })).join('\n'), { 'content-type': 'application/x-ndjson' });
  assert.equal(promptsRes.json().created, 20, promptsRes.body);
  const prompts = (await p.call(researcher, 'GET', `/v1/projects/${projectId}/prompts?limit=100`)).json().items as { id: string; text: string }[];
  for (const d of demos) {
    const prompt = prompts.find((x) => x.text === d.en_instruction)!;
    const written = await p.call(annotator, 'POST', `/v1/projects/${projectId}/demonstrations`, { promptId: prompt.id, answer: d.en_output });
    assert.equal(written.statusCode, 201, written.body);
    const reviewed = await p.call(researcher, 'POST', `/v1/demonstrations/${written.json().demonstration.id}/review`, { decision: 'accept' });
    assert.equal(reviewed.statusCode, 200, reviewed.body);
  }

  // 3. SFT with LoRA: the chat tokens are added here
  const sft = await runJob(researcher, projectId, {
    kind: 'sft', name: 'sft', baseModelId: baseId,
    hyperparams: { lora: { rank: 8, alpha: 16 }, epochs: 20, batchSize: 4, lr: 3e-3, minLr: 3e-4, warmupSteps: 2, valFraction: 0.2, evalEvery: 1000, seed: 1 },
  });
  assert.equal((sft.job.datasetSnapshot as DatasetSnapshot).counts.demonstrations, 20);
  const sftId = sft.job.outputModelId!;

  // 4. comparisons from the SFT model, and from the raw base as plain continuation
  const sampling = { maxTokens: 24, temperature: 1, topP: 1 };
  await runJob(researcher, projectId, { kind: 'generate', modelIds: [sftId], hyperparams: { ...sampling, seed: 11 } });
  await runJob(researcher, projectId, { kind: 'generate', modelIds: [sftId, baseId], promptIds: prompts.map((x) => x.id), hyperparams: { ...sampling, seed: 12 } });
  assert.equal(await rankEverything(raters, projectId), 40);

  // 5. reward model, then PPO against it and DPO from the same rankings
  const reward = await runJob(researcher, projectId, {
    kind: 'reward', name: 'reward', baseModelId: sftId,
    hyperparams: { epochs: 2, batchSize: 16, lr: 1e-3, minLr: 1e-4, warmupSteps: 2, evalEvery: 10, valFraction: 0.2, seed: 5 },
  });
  assert.ok((reward.job.datasetSnapshot as DatasetSnapshot).counts.pairs > 10, `pairs: ${JSON.stringify(reward.job.datasetSnapshot)}`);
  const ppo = await runJob(researcher, projectId, {
    kind: 'ppo', name: 'ppo', policyModelId: sftId, rewardModelId: reward.job.outputModelId,
    hyperparams: { iterations: 3, promptsPerIteration: 2, samplesPerPrompt: 2, maxAnswerTokens: 16, ppoEpochs: 1, miniBatches: 1, lr: 1e-4, seed: 1 },
  });
  const dpo = await runJob(researcher, projectId, {
    kind: 'dpo', name: 'dpo', policyModelId: sftId,
    hyperparams: { lora: { rank: 8, alpha: 16 }, epochs: 1, batchSize: 8, lr: 1e-3, minLr: 1e-4, warmupSteps: 1, evalEvery: 10, valFraction: 0.2, seed: 5 },
  });

  // 6. the trained policies answer too
  await runJob(researcher, projectId, { kind: 'generate', modelIds: [ppo.job.outputModelId, dpo.job.outputModelId], promptIds: prompts.slice(0, 5).map((x) => x.id), hyperparams: { ...sampling, seed: 13 } });

  // Lineage and tokenizers: every model after SFT has the imported pieces plus the chat tokens.
  const expected: [string, string, string][] = [
    [sftId, 'sft', baseId],
    [reward.job.outputModelId!, 'reward', sftId],
    [ppo.job.outputModelId!, 'policy', sftId],
    [dpo.job.outputModelId!, 'policy', sftId],
  ];
  for (const [id, kind, parentId] of expected) {
    const model = (await p.call(researcher, 'GET', `/v1/models/${id}`)).json().model;
    assert.deepEqual([model.kind, model.parentId], [kind, parentId], `model ${model.name}`);
    const tokenizer = storedTokenizer(id);
    assert.equal(tokenizer.type, 'llama2c-sp');
    assert.deepEqual(tokenizer.pieces, baseTokenizer.pieces, `${model.name} keeps the imported pieces`);
    assert.deepEqual(tokenizer.added, [...CHAT_TOKENS], `${model.name} has the chat tokens after them`);
    assert.equal(model.config.vocabSize, 516);
  }

  // No stored answer holds a special token's text, whichever model wrote it.
  const answers = await p.prisma.answer.findMany({ select: { text: true, modelId: true } });
  assert.equal(answers.length, 20 * 4 + 20 * 4 + 5 * 4);
  for (const { text, modelId } of answers) {
    assert.ok(!text.includes('<|'), `answer of ${modelId} holds "<|": ${JSON.stringify(text)}`);
    for (const s of SPECIALS) assert.ok(!text.includes(s), `answer of ${modelId} holds ${s}: ${JSON.stringify(text)}`);
  }
  const fromSft = answers.filter((a) => a.modelId === sftId);
  assert.ok(fromSft.filter((a) => a.text.length > 0).length >= fromSft.length / 2, 'the SFT model answers');
  console.log(`# ${answers.length} answers; SFT answers with "${KEYWORD}": ${fromSft.filter((a) => pleases(a.text)).length}/${fromSft.length}`);
});
