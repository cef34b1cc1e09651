// The whole loop through the API, with a real worker and real Postgres, on a synthetic task small
// enough for a tiny model: prompts ask for a few words, annotators answer with 2–4 words from a
// small list, and the (simulated) raters prefer answers that mention "cat". Pre-train a base on the
// project's text → SFT on the accepted demonstrations → generate comparisons → raters rank them
// → reward model → PPO (and DPO from the same rankings). Finally SFT and PPO answer the same prompts, mixed in the same comparisons,
// and the raters' rule itself (not the reward model) says the PPO policy pleases them more often.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '@jielong/ml';
import type { DatasetSnapshot, JobDetailResponse } from '@jielong/shared';
import { usePipeline, type Person } from './harness.ts';

const WORDS = ['red', 'blue', 'green', 'cat', 'dog', 'sun', 'moon', 'tree'];
const KEYWORD = 'cat';
const VERBS = ['name', 'list', 'give me', 'tell me', 'say', 'show me'];
const OBJECTS = ['some things', 'a few words', 'words please', 'what you see', 'nice words', 'any words'];
const PROMPTS = VERBS.flatMap((v) => OBJECTS.map((o) => `${v} ${o}`));

/** The raters' rule: an answer containing the keyword is better; otherwise they tie. */
const pleases = (answer: string) => answer.includes(KEYWORD);

const p = usePipeline('rlhf');

/** Starts a job and waits for it; returns the finished job (failing with its error otherwise). */
async function runJob(researcher: Person, projectId: string, body: object): Promise<JobDetailResponse> {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, body);
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id, undefined, 300_000);
  assert.equal(job.status, 'succeeded', `${(body as { kind: string }).kind}: ${JSON.stringify(job.error)}`);
  return (await p.call(researcher, 'GET', `/v1/jobs/${job.id}`)).json();
}

/** What the job's frozen dataset held. */
const counts = (d: JobDetailResponse) => (d.job.datasetSnapshot as DatasetSnapshot).counts;

/** Every rater takes tasks until none are left, ranking keyword answers above the rest. */
async function rankEverything(raters: Person[], projectId: string): Promise<number> {
  let ranked = 0;
  for (let busy = true; busy; ) {
    busy = false;
    for (const rater of raters) {
      const res = await p.call(rater, 'POST', `/v1/projects/${projectId}/rating-task`);
      assert.equal(res.statusCode, 200, res.body);
      const task = res.json().task;
      if (!task) continue;
      busy = true;
      // tied answers in a fixed order (raters see a per-rater shuffle): the dataset is the same on every run
      const answers = [...task.answers].sort((a: { text: string }, b: { text: string }) => a.text.localeCompare(b.text));
      const good = answers.filter((a: { text: string }) => pleases(a.text)).map((a: { id: string }) => a.id);
      const bad = answers.filter((a: { text: string }) => !pleases(a.text)).map((a: { id: string }) => a.id);
      const order = [good, bad].filter((g) => g.length);
      const submitted = await p.call(rater, 'POST', `/v1/comparisons/${task.comparisonId}/rankings`, { order, timeSpentMs: 1000 });
      assert.equal(submitted.statusCode, 201, submitted.body);
      ranked++;
    }
  }
  return ranked;
}

test('pretrain → SFT → comparisons → rankings → reward model → PPO: the policy pleases the raters more than SFT', { timeout: 600_000 }, async () => {
  const researcher = await p.person('Rhea', ['researcher']);
  const annotators = await Promise.all(['Ann', 'Abe', 'Ada'].map((n) => p.person(n)));
  const raters = await Promise.all(['Ray', 'Rob'].map((n) => p.person(n)));
  const projectId = await p.project(
    researcher,
    [...annotators.map((a): [Person, ['annotator']] => [a, ['annotator']]), ...raters.map((r): [Person, ['rater']] => [r, ['rater']])],
    { answersPerComparison: 6, ratersPerComparison: 1 },
  );
  await p.startWorker();

  // 1. prompts (JSONL import) and demonstrations (written by annotators, accepted in review)
  const imported = await p.call(researcher, 'POST', `/v1/projects/${projectId}/prompts/import`, PROMPTS.map((prompt) => JSON.stringify({ prompt, language: 'en' })).join('\n'), {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(imported.json().created, PROMPTS.length, imported.body);
  const prompts = ((await p.call(researcher, 'GET', `/v1/projects/${projectId}/prompts?limit=500`)).json().items as { id: string; text: string }[]).sort((a, b) =>
    a.text.localeCompare(b.text),
  );
  // E2E_SEED picks other demonstrations, to check the result is no lucky seed (2 to 6 pass)
  const rand = mulberry32(Number(process.env.E2E_SEED ?? 2));
  const randomAnswer = () => Array.from({ length: 2 + Math.floor(rand() * 3) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
  for (const annotator of annotators) {
    for (const prompt of prompts) {
      const written = await p.call(annotator, 'POST', `/v1/projects/${projectId}/demonstrations`, { promptId: prompt.id, answer: randomAnswer() });
      assert.equal(written.statusCode, 201, written.body);
      const reviewed = await p.call(researcher, 'POST', `/v1/demonstrations/${written.json().demonstration.id}/review`, { decision: 'accept' });
      assert.equal(reviewed.statusCode, 200, reviewed.body);
    }
  }

  // 2. a tiny base model pre-trained on the project's own text (prompts + accepted demonstrations)
  const pretrain = await runJob(researcher, projectId, {
    kind: 'pretrain',
    name: 'base',
    hyperparams: { preset: 'tiny', vocabSize: 300, steps: 150, batchSize: 16, lr: 1e-2, minLr: 1e-3, warmupSteps: 5, evalEvery: 50, evalBatches: 2, seed: 1 },
  });
  assert.equal(counts(pretrain).demonstrations, annotators.length * PROMPTS.length);

  // 3. SFT on the accepted demonstrations
  const sft = await runJob(researcher, projectId, {
    kind: 'sft',
    name: 'sft',
    baseModelId: pretrain.job.outputModelId,
    hyperparams: { epochs: 8, batchSize: 16, lr: 5e-3, minLr: 5e-4, warmupSteps: 5, evalEvery: 100, seed: 3 },
  });
  const sftId = sft.job.outputModelId!;

  // 4. comparisons from the SFT model, ranked by the raters
  const sampling = { maxTokens: 8, temperature: 1, topP: 1 };
  const round1 = await runJob(researcher, projectId, { kind: 'generate', modelIds: [sftId], hyperparams: { ...sampling, seed: 11 } });
  assert.equal(counts(round1).prompts, PROMPTS.length, 'by default: the prompts without comparisons');
  // a second batch of answers to the same prompts: more rankings for the reward model to learn from
  await runJob(researcher, projectId, { kind: 'generate', modelIds: [sftId], promptIds: prompts.map((x) => x.id), hyperparams: { ...sampling, seed: 12 } });
  assert.equal(await rankEverything(raters, projectId), 2 * PROMPTS.length);

  // 5. the reward model learns the raters' preference from their rankings (pairs via rankingToPairs)
  const reward = await runJob(researcher, projectId, {
    kind: 'reward',
    name: 'reward',
    baseModelId: sftId,
    hyperparams: { epochs: 6, batchSize: 16, lr: 3e-3, minLr: 3e-4, warmupSteps: 3, evalEvery: 20, valFraction: 0.2, seed: 5 },
  });
  assert.ok(counts(reward).pairs >= 200, `pairs: ${counts(reward).pairs}`);
  const rewardModel = (await p.call(researcher, 'GET', `/v1/models/${reward.job.outputModelId}`)).json().model;
  assert.ok(rewardModel.metrics.final.accuracy > 0.8, `reward model held-out accuracy ${rewardModel.metrics.final.accuracy}`);

  // the second route to a policy, from the same rankings: DPO learns to prefer the chosen answers
  const dpo = await runJob(researcher, projectId, {
    kind: 'dpo',
    name: 'dpo',
    policyModelId: sftId,
    hyperparams: { epochs: 2, batchSize: 16, lr: 2e-3, minLr: 2e-4, beta: 0.1, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 },
  });
  const dpoModel = (await p.call(researcher, 'GET', `/v1/models/${dpo.job.outputModelId}`)).json().model;
  assert.deepEqual([dpoModel.kind, dpoModel.parentId, dpoModel.metrics.method], ['policy', sftId, 'dpo']);
  assert.ok(dpoModel.metrics.final.margin > dpoModel.metrics.initial.margin + 0.5, `DPO held-out margin ${dpoModel.metrics.initial.margin} → ${dpoModel.metrics.final.margin}`);

  // 6. PPO against the reward model, held near the SFT model by the KL penalty
  const ppo = await runJob(researcher, projectId, {
    kind: 'ppo',
    name: 'ppo',
    policyModelId: sftId,
    rewardModelId: reward.job.outputModelId,
    hyperparams: { iterations: 25, promptsPerIteration: 4, samplesPerPrompt: 4, maxAnswerTokens: 8, ppoEpochs: 2, miniBatches: 2, lr: 1e-3, klCoef: 0.1, maxKl: 8, seed: 1 },
  });
  const policyId = ppo.job.outputModelId!;
  const lineage = (await p.call(researcher, 'GET', `/v1/models/${policyId}`)).json().lineage.map((m: { id: string }) => m.id);
  assert.deepEqual(lineage, [sftId, pretrain.job.outputModelId], 'policy ← SFT ← base');

  // 7. SFT and PPO answer the same prompts, mixed and anonymised in the same comparisons
  const round2 = await runJob(researcher, projectId, {
    kind: 'generate',
    modelIds: [sftId, policyId],
    promptIds: prompts.map((x) => x.id),
    hyperparams: { ...sampling, seed: 23 },
  });
  const listed = (await p.call(researcher, 'GET', `/v1/projects/${projectId}/comparisons?limit=500`)).json().items.filter((c: { jobId: string }) => c.jobId === round2.job.id);
  assert.equal(listed.length, PROMPTS.length);
  const share = (modelId: string) => {
    const answers = listed.flatMap((c: { answers: { modelId: string; text: string }[] }) => c.answers.filter((a) => a.modelId === modelId));
    return { n: answers.length, pleasing: answers.filter((a: { text: string }) => pleases(a.text)).length / answers.length };
  };
  const [fromSft, fromPolicy] = [share(sftId), share(policyId)];
  assert.equal(fromSft.n, PROMPTS.length * 3);
  assert.equal(fromPolicy.n, PROMPTS.length * 3);
  // raters see neither model names nor ids
  const task = (await p.call(raters[0], 'POST', `/v1/projects/${projectId}/rating-task`)).json().task;
  assert.deepEqual(Object.keys(task.answers[0]).sort(), ['id', 'text']);

  // judged by the raters' rule itself, independent of the reward model
  assert.ok(fromPolicy.pleasing > fromSft.pleasing + 0.2, `answers with "${KEYWORD}": SFT ${fromSft.pleasing.toFixed(2)}, PPO ${fromPolicy.pleasing.toFixed(2)}`);

  // and the raters' rankings say the same, through the model-quality endpoint
  await rankEverything(raters, projectId);
  const preference = (await p.call(researcher, 'GET', `/v1/jobs/${round2.job.id}/model-preference`)).json();
  const winRate = Object.fromEntries(preference.models.map((m: { modelId: string; winRate: number }) => [m.modelId, m.winRate]));
  assert.equal(preference.rankings, PROMPTS.length);
  assert.ok(winRate[policyId] > 0.6 && winRate[sftId] < 0.4, JSON.stringify(preference.models));
  console.log(
    `# keyword share SFT ${fromSft.pleasing.toFixed(2)} → PPO ${fromPolicy.pleasing.toFixed(2)}; PPO wins ${(winRate[policyId] * 100).toFixed(0)}% of ${preference.pairs} cross-model pairs; reward-model accuracy ${rewardModel.metrics.final.accuracy.toFixed(2)}`,
  );
});
