// The whole loop through the API, with a real worker and real Postgres, on a synthetic task small
// enough for a tiny model (rlhf-world.ts): pre-train a base on the project's text → SFT on the
// accepted demonstrations → generate comparisons → raters rank them → reward model → PPO (and DPO,
// GRPO, KTO and best-of-N from the same SFT model and rankings). SFT and PPO answer the same prompts,
// mixed in the same comparisons, and the raters' rule itself (not the reward model) says the PPO
// policy pleases them more often. Last, a judged round mixes every policy: each answer is scored by
// the reward model and its log-ratio to SFT, as the Models page shows them (bench/rl-compare.ts runs
// the full-size comparison).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelPreferenceResponse } from '@jielong/shared';
import { usePipeline } from './harness.ts';
import { buildWorld, counts, KEYWORD, pleases, policyJobs, PROMPTS, rankEverything, runJob, SAMPLING } from './rlhf-world.ts';

const p = usePipeline('rlhf');

test('pretrain → SFT → comparisons → rankings → reward model → PPO: the policy pleases the raters more than SFT; GRPO, KTO and best-of-N judged beside it', { timeout: 1_500_000 }, async () => {
  // E2E_SEED picks other demonstrations, to check the result is no lucky seed (2 to 6 pass)
  const w = await buildWorld(p, Number(process.env.E2E_SEED ?? 2));
  const { researcher, raters, projectId, prompts, sftId } = w;
  const jobs = policyJobs(w);

  // the second route to a policy, from the same rankings: DPO learns to prefer the chosen answers
  const dpo = await runJob(p, researcher, projectId, jobs.dpo);
  const dpoModel = (await p.call(researcher, 'GET', `/v1/models/${dpo.job.outputModelId}`)).json().model;
  assert.deepEqual([dpoModel.kind, dpoModel.parentId, dpoModel.metrics.method], ['policy', sftId, 'dpo']);
  assert.ok(dpoModel.metrics.final.margin > dpoModel.metrics.initial.margin + 0.5, `DPO held-out margin ${dpoModel.metrics.initial.margin} → ${dpoModel.metrics.final.margin}`);

  // 6. PPO against the reward model, held near the SFT model by the KL penalty
  const ppo = await runJob(p, researcher, projectId, jobs.ppo);
  const policyId = ppo.job.outputModelId!;
  const lineage = (await p.call(researcher, 'GET', `/v1/models/${policyId}`)).json().lineage.map((m: { id: string }) => m.id);
  assert.deepEqual(lineage, [sftId, w.baseId], 'policy ← SFT ← base');

  // 7. SFT and PPO answer the same prompts, mixed and anonymised in the same comparisons
  const round2 = await runJob(p, researcher, projectId, {
    kind: 'generate',
    modelIds: [sftId, policyId],
    promptIds: prompts.map((x) => x.id),
    hyperparams: { ...SAMPLING, seed: 23 },
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
  await rankEverything(p, raters, projectId);
  const preference = (await p.call(researcher, 'GET', `/v1/jobs/${round2.job.id}/model-preference`)).json();
  const winRate = Object.fromEntries(preference.models.map((m: { modelId: string; winRate: number }) => [m.modelId, m.winRate]));
  assert.equal(preference.rankings, PROMPTS.length);
  assert.ok(winRate[policyId] > 0.6 && winRate[sftId] < 0.4, JSON.stringify(preference.models));
  console.log(
    `# keyword share SFT ${fromSft.pleasing.toFixed(2)} → PPO ${fromPolicy.pleasing.toFixed(2)}; PPO wins ${(winRate[policyId] * 100).toFixed(0)}% of ${preference.pairs} cross-model pairs; reward-model accuracy ${(w.rewardModel.metrics.final as { accuracy: number }).accuracy.toFixed(2)}`,
  );

  // 8. the newer routes from the same SFT model, rankings and reward model (small runs: the bench runs them in full)
  const small = policyJobs(w, 0.4);
  const grpo = (await p.call(researcher, 'GET', `/v1/models/${(await runJob(p, researcher, projectId, small.grpo)).job.outputModelId}`)).json().model;
  assert.deepEqual([grpo.kind, grpo.parentId, grpo.metrics.method, grpo.metrics.rewardModelId], ['policy', sftId, 'grpo', w.rewardId]);
  assert.ok(grpo.metrics.history.every((h: { rewardSpread: number; kl: number }) => h.rewardSpread >= 0 && Number.isFinite(h.kl)));
  const kto = await runJob(p, researcher, projectId, small.kto);
  assert.equal(counts(kto).rankings, 3 * PROMPTS.length, 'every ranking gives its best and worst answers');
  const ktoModel = (await p.call(researcher, 'GET', `/v1/models/${kto.job.outputModelId}`)).json().model;
  assert.ok(ktoModel.metrics.final.margin > ktoModel.metrics.initial.margin + 0.5, `KTO held-out margin ${ktoModel.metrics.initial.margin} → ${ktoModel.metrics.final.margin}`);
  const bon = (await p.call(researcher, 'GET', `/v1/models/${(await runJob(p, researcher, projectId, small.best_of_n)).job.outputModelId}`)).json().model;
  assert.ok(bon.metrics.rewardEnd > bon.metrics.rewardStart, `best-of-N greedy reward ${bon.metrics.rewardStart} → ${bon.metrics.rewardEnd}`);
  const curves = (await p.call(researcher, 'GET', `/v1/jobs/${bon.jobId}`)).json().metrics.filter((m: { data: { evalReward?: number } }) => m.data.evalReward !== undefined);
  assert.equal(curves.length, small.best_of_n.hyperparams.rounds, 'one judged step per round');

  // 9. every policy and SFT answer the same prompts in judged comparisons: reward-model score and KL to SFT per model
  const policies = [sftId, policyId, grpo.id, dpoModel.id, ktoModel.id, bon.id];
  const judged = await runJob(p, researcher, projectId, {
    kind: 'generate', modelIds: policies, promptIds: prompts.map((x) => x.id), hyperparams: { ...SAMPLING, seed: 31, judge: { rewardModelId: w.rewardId, referenceModelId: sftId } },
  });
  const table = (await p.call(researcher, 'GET', `/v1/jobs/${judged.job.id}/model-preference`)).json() as ModelPreferenceResponse;
  assert.deepEqual(table.judge, { rewardModelId: w.rewardId, referenceModelId: sftId });
  const row = (id: string) => table.models.find((m) => m.modelId === id)!;
  assert.deepEqual(policies.map((id) => row(id).method), [null, 'ppo', 'grpo', 'dpo', 'kto', 'best_of_n']);
  assert.equal(row(sftId).kl, 0, "SFT's own answers: log-ratio 0 to itself");
  assert.ok(policies.every((id) => Number.isFinite(row(id).meanReward)), JSON.stringify(table.models));
  assert.ok(policies.slice(1).every((id) => Number.isFinite(row(id).kl) && row(id).wallSeconds! > 0), JSON.stringify(table.models));
  assert.ok(row(policyId).meanReward! > row(sftId).meanReward!, 'PPO scores above SFT with the reward model it trained against');
});
