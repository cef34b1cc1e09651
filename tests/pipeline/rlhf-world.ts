// The synthetic RLHF world of the pipeline test and the policy-comparison bench, through the API
// with a real worker: prompts ask for a few words, annotators answer with 2–4 words from a small
// list, and the (simulated) raters prefer answers that mention "cat". buildWorld pre-trains a base
// on the project's text → SFT on the accepted demonstrations → two rounds of comparisons ranked by
// the raters → reward model, checking each step as it goes.
import assert from 'node:assert/strict';
import { mulberry32 } from '@jielong/ml';
import type { DatasetSnapshot, JobDetailResponse, Model } from '@jielong/shared';
import type { Person, Pipeline } from './harness.ts';

export const WORDS = ['red', 'blue', 'green', 'cat', 'dog', 'sun', 'moon', 'tree'];
export const KEYWORD = 'cat';
const VERBS = ['name', 'list', 'give me', 'tell me', 'say', 'show me'];
const OBJECTS = ['some things', 'a few words', 'words please', 'what you see', 'nice words', 'any words'];
export const PROMPTS = VERBS.flatMap((v) => OBJECTS.map((o) => `${v} ${o}`));

/** The raters' rule: an answer containing the keyword is better; otherwise they tie. */
export const pleases = (answer: string) => answer.includes(KEYWORD);

/** Answers sampled for comparisons: short, at temperature 1 (so a judge's mean log-ratio is a sampled KL). */
export const SAMPLING = { maxTokens: 8, temperature: 1, topP: 1 };

/** Starts a job and waits for it; returns the finished job (failing with its error otherwise). */
export async function runJob(p: Pipeline, researcher: Person, projectId: string, body: JobBody): Promise<JobDetailResponse> {
  const res = await p.call(researcher, 'POST', `/v1/projects/${projectId}/jobs`, body);
  assert.equal(res.statusCode, 201, res.body);
  const job = await p.waitForJob(res.json().job.id, undefined, 600_000);
  assert.equal(job.status, 'succeeded', `${body.kind}: ${JSON.stringify(job.error)}`);
  return (await p.call(researcher, 'GET', `/v1/jobs/${job.id}`)).json();
}

/** What the job's frozen dataset held. */
export const counts = (d: JobDetailResponse) => (d.job.datasetSnapshot as DatasetSnapshot).counts;

/** Every rater takes tasks until none are left, ranking keyword answers above the rest. */
export async function rankEverything(p: Pipeline, raters: Person[], projectId: string): Promise<number> {
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

export interface World {
  researcher: Person;
  raters: Person[];
  projectId: string;
  prompts: { id: string; text: string }[];
  baseId: string;
  sftId: string;
  rewardId: string;
  rewardModel: Model;
}

/** Project, people, prompts, demonstrations (picked by `seed`), base, SFT, two ranked rounds and the reward model. */
export async function buildWorld(p: Pipeline, seed = 2): Promise<World> {
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
  const rand = mulberry32(seed);
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
  const pretrain = await runJob(p, researcher, projectId, {
    kind: 'pretrain',
    name: 'base',
    hyperparams: { preset: 'tiny', vocabSize: 300, steps: 150, batchSize: 16, lr: 1e-2, minLr: 1e-3, warmupSteps: 5, evalEvery: 50, evalBatches: 2, seed: 1 },
  });
  assert.equal(counts(pretrain).demonstrations, annotators.length * PROMPTS.length);

  // 3. SFT on the accepted demonstrations
  const sft = await runJob(p, researcher, projectId, {
    kind: 'sft',
    name: 'sft',
    baseModelId: pretrain.job.outputModelId,
    hyperparams: { epochs: 8, batchSize: 16, lr: 5e-3, minLr: 5e-4, warmupSteps: 5, evalEvery: 100, seed: 3 },
  });
  const sftId = sft.job.outputModelId!;

  // 4. comparisons from the SFT model, ranked by the raters
  const round1 = await runJob(p, researcher, projectId, { kind: 'generate', modelIds: [sftId], hyperparams: { ...SAMPLING, seed: 11 } });
  assert.equal(counts(round1).prompts, PROMPTS.length, 'by default: the prompts without comparisons');
  // a second batch of answers to the same prompts: more rankings for the reward model to learn from
  await runJob(p, researcher, projectId, { kind: 'generate', modelIds: [sftId], promptIds: prompts.map((x) => x.id), hyperparams: { ...SAMPLING, seed: 12 } });
  assert.equal(await rankEverything(p, raters, projectId), 2 * PROMPTS.length);

  // 5. the reward model learns the raters' preference from their rankings (pairs via rankingToPairs)
  const reward = await runJob(p, researcher, projectId, {
    kind: 'reward',
    name: 'reward',
    baseModelId: sftId,
    hyperparams: { epochs: 6, batchSize: 16, lr: 3e-3, minLr: 3e-4, warmupSteps: 3, evalEvery: 20, valFraction: 0.2, seed: 5 },
  });
  assert.ok(counts(reward).pairs >= 200, `pairs: ${counts(reward).pairs}`);
  const rewardModel = (await p.call(researcher, 'GET', `/v1/models/${reward.job.outputModelId}`)).json().model as Model;
  assert.ok((rewardModel.metrics.final as { accuracy: number }).accuracy > 0.8, `reward model held-out accuracy ${JSON.stringify(rewardModel.metrics.final)}`);
  return { researcher, raters, projectId, prompts, baseId: pretrain.job.outputModelId!, sftId, rewardId: rewardModel.id, rewardModel };
}

/** A job request as the tests build it. */
export interface JobBody {
  kind: string;
  hyperparams: Record<string, unknown>;
  [field: string]: unknown;
}

/** The policy-producing jobs of the comparison, on the world's SFT and reward models; `scale` shortens the online ones. */
export function policyJobs(w: World, scale = 1): Record<'ppo' | 'grpo' | 'dpo' | 'kto' | 'best_of_n', JobBody> {
  const iterations = Math.max(2, Math.round(25 * scale));
  return {
    ppo: {
      kind: 'ppo', name: 'ppo', policyModelId: w.sftId, rewardModelId: w.rewardId,
      hyperparams: { iterations, promptsPerIteration: 4, samplesPerPrompt: 4, maxAnswerTokens: 8, ppoEpochs: 2, miniBatches: 2, lr: 1e-3, klCoef: 0.1, maxKl: 8, seed: 1 },
    },
    grpo: {
      kind: 'grpo', name: 'grpo', policyModelId: w.sftId, rewardModelId: w.rewardId,
      hyperparams: { iterations, promptsPerIteration: 2, groupSize: 8, maxAnswerTokens: 8, grpoEpochs: 2, miniBatches: 2, lr: 1e-3, klCoef: 0.1, maxKl: 8, seed: 1 },
    },
    dpo: {
      kind: 'dpo', name: 'dpo', policyModelId: w.sftId,
      hyperparams: { epochs: 2, batchSize: 16, lr: 2e-3, minLr: 2e-4, beta: 0.1, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 },
    },
    kto: {
      kind: 'kto', name: 'kto', policyModelId: w.sftId,
      hyperparams: { epochs: 2, batchSize: 16, lr: 2e-3, minLr: 2e-4, beta: 0.1, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 },
    },
    best_of_n: {
      kind: 'best_of_n', name: 'best-of-n', policyModelId: w.sftId, rewardModelId: w.rewardId,
      hyperparams: { rounds: Math.max(1, Math.round(2 * scale)), samplesPerPrompt: 8, maxAnswerTokens: 8, epochs: 3, batchSize: 8, lr: 3e-3, minLr: 3e-4, warmupSteps: 2, seed: 4 },
    },
  };
}
