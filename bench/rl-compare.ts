// PPO, GRPO, DPO, KTO and best-of-N compared on the same data, through the API with a real worker
// and real Postgres (issue 14):
//   npx tsx bench/rl-compare.ts [--seed 2] [--scale 1] [--answers 12]
// The RLHF world of the pipeline test (tests/pipeline/rlhf-world.ts): one SFT model and one reward
// model, trained on the simulated raters' rankings; then each method's job from that SFT model. A
// judged generate job has the SFT model and every policy answer all 36 prompts (--answers per
// prompt, dealt evenly over the six models, temperature 1): each answer is scored by the reward
// model and its log-ratio to SFT (the mean is the sampled KL), and the simulated raters rank them.
// Each policy is judged by the raters' own rule (the share of answers that mention "cat"), which is
// independent of the reward model; the anchor is the SFT model's share in the same run. Wall time is
// each job's, first start to registered model. Results: bench/out/rl-compare.json and a Markdown table.
// Needs PostgreSQL at DATABASE_URL's server (tests/helpers create a scratch database).
import { test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelPreferenceResponse } from '@jielong/shared';
import { usePipeline } from '../tests/pipeline/harness.ts';
import { buildWorld, pleases, policyJobs, rankEverything, runJob, SAMPLING } from '../tests/pipeline/rlhf-world.ts';

const { values: args } = parseArgs({
  options: { seed: { type: 'string', default: '2' }, scale: { type: 'string', default: '1' }, answers: { type: 'string', default: '12' } },
});
const p = usePipeline('rlcompare');

test('policy comparison', { timeout: 3_600_000 }, async () => {
  const load = loadavg()[0];
  const w = await buildWorld(p, Number(args.seed));
  const { researcher, raters, projectId, prompts, sftId } = w;
  const jobs = policyJobs(w, Number(args.scale));
  const trained: { method: string; modelId: string; settings: Record<string, unknown> }[] = [];
  for (const [method, body] of Object.entries(jobs)) {
    const done = await runJob(p, researcher, projectId, body);
    trained.push({ method, modelId: done.job.outputModelId!, settings: body.hyperparams });
    console.log(`# ${method} trained`);
  }

  const judged = await runJob(p, researcher, projectId, {
    kind: 'generate',
    modelIds: [sftId, ...trained.map((t) => t.modelId)],
    promptIds: prompts.map((x) => x.id),
    hyperparams: { ...SAMPLING, answersPerPrompt: Number(args.answers), seed: 31, judge: { rewardModelId: w.rewardId, referenceModelId: sftId } },
  });
  const comparisons = (await p.call(researcher, 'GET', `/v1/projects/${projectId}/comparisons?limit=500`)).json().items.filter((c: { jobId: string }) => c.jobId === judged.job.id);
  const answers = comparisons.flatMap((c: { answers: { modelId: string; text: string }[] }) => c.answers);
  const share = (modelId: string) => {
    const mine = answers.filter((a: { modelId: string }) => a.modelId === modelId);
    return { n: mine.length, pleasing: mine.filter((a: { text: string }) => pleases(a.text)).length / mine.length };
  };
  await rankEverything(p, raters, projectId);
  const table = (await p.call(researcher, 'GET', `/v1/jobs/${judged.job.id}/model-preference`)).json() as ModelPreferenceResponse;
  const sft = share(sftId);
  const rows = [{ method: 'sft', modelId: sftId }, ...trained].map((t) => {
    const m = table.models.find((x) => x.modelId === t.modelId)!;
    const s = share(t.modelId);
    return {
      method: t.method,
      answers: s.n,
      ratersRule: s.pleasing,
      vsSft: s.pleasing / sft.pleasing,
      winRate: m.winRate,
      reward: m.meanReward,
      klToSft: m.kl,
      wallSeconds: m.wallSeconds,
    };
  });
  const out = { when: new Date().toISOString(), load1: load, loadEnd: loadavg()[0], seed: Number(args.seed), scale: Number(args.scale), rankings: table.rankings, pairs: table.pairs, rows, settings: trained };
  mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'out', 'rl-compare.json'), JSON.stringify(out, null, 2));
  const f = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
  console.log(`\n| method | raters' rule (share with "cat") | × SFT | raters' win rate | reward-model score | KL to SFT (nats/answer) | wall time (s) |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.method} | ${f(r.ratersRule)} | ${f(r.vsSft, 2)} | ${r.winRate === null ? '—' : `${Math.round(r.winRate * 100)}%`} | ${f(r.reward)} | ${f(r.klToSft)} | ${f(r.wallSeconds, 0)} |`);
  console.log(`\n${rows[0].answers} answers per model, ${table.rankings} rankings (${table.pairs} cross-model pairs); load ${load.toFixed(1)} → ${out.loadEnd.toFixed(1)}`);
});
