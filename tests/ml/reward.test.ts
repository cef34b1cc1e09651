// Reward model: trained on rankings where raters always prefer answers that mention "cat", it
// must rank unseen pairs the same way; the pairs of one ranking share a batch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateRewardModel, groupPairs, initBackend, packRankings, rewardModelFn, scoreReward, trainRewardModel, trainSft,
  type CausalLM, type RewardProgress, type Tokenizer,
} from '../../packages/ml/src/index.ts';
import { demonstrations, keywordPairs, PROMPTS, pretrainedBase, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let sft: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  const base = await pretrainedBase(tok);
  sft = (await trainSft({ model: base, tokenizer: tok, data: demonstrations(120, 2), config: { epochs: 3, batchSize: 16, lr: 5e-3, warmupSteps: 5, evalEvery: 100, seed: 3 } })).model;
  base.dispose();
});

test('the reward model learns that raters prefer the keyword: ≥ 90% accuracy on held-out rankings', async () => {
  const progress: RewardProgress[] = [];
  const sftBefore = sft.params.wte.dataSync().slice();
  const res = await trainRewardModel({
    model: sft,
    tokenizer: tok,
    pairs: keywordPairs(150, 8),
    config: { epochs: 4, batchSize: 16, lr: 1e-2, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 },
    onProgress: (p) => progress.push(p),
  });
  assert.equal(res.valPairs, 60);
  assert.equal(res.trainPairs, 240);
  assert.equal(res.initial.accuracy, 0.5, 'before training every pair ties');
  assert.ok(res.final.accuracy >= 0.9, `held-out accuracy ${res.final.accuracy}`);
  assert.ok(res.final.margin > 1, `mean margin ${res.final.margin}`);
  assert.equal(progress.length, res.steps);
  assert.ok(progress.filter((p) => p.phase === 'eval').every((p) => p.valAccuracy !== undefined && p.valMargin !== undefined));
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the SFT model is copied, not changed');
  assert.ok(res.model.hasHead);

  // Fresh answers to a prompt it never saw: with the keyword beats without.
  const prompt = 'show me some words';
  const withKeyword = ['dog cat sun', 'cat moon', 'tree red cat blue'];
  const without = ['dog moon sun', 'green moon', 'tree red blue blue'];
  withKeyword.forEach((a, i) => assert.ok(scoreReward(res.model, tok, prompt, a) > scoreReward(res.model, tok, prompt, without[i]), `${a} > ${without[i]}`));
  // As a reward function (what PPO calls) and as an evaluation on pairs, the scores agree.
  const fn = rewardModelFn(res.model, tok);
  const pair = { prompt: PROMPTS[0], chosen: 'cat dog', rejected: 'dog dog' };
  const e = evaluateRewardModel(res.model, tok, [pair]);
  assert.ok(Math.abs(e.margin - (fn(pair.prompt, pair.chosen) - fn(pair.prompt, pair.rejected))) < 1e-4);
  res.model.dispose();
});

test("a ranking's pairs stay together in one batch; batches fill up to the batch size", () => {
  const pairs = keywordPairs(10, 1).map((p, i) => ({ ...p, group: i < 6 ? 'big' : p.group })); // one ranking of 6 pairs
  pairs.push({ prompt: 'x', chosen: 'cat', rejected: 'dog' } as (typeof pairs)[number]); // no group: a ranking alone
  const groups = groupPairs(pairs);
  assert.equal(groups.length, 1 + 7 + 1);
  const batches = packRankings(groups, 4);
  for (const g of groups) assert.equal(batches.filter((b) => b.includes(g)).length, 1);
  batches.slice(0, -1).forEach((b) => assert.ok(b.flat().length >= 4));
  assert.equal(batches.flat(2).length, pairs.length);
});
