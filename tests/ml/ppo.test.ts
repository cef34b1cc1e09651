// PPO against a known reward (the share of "cat" in an answer): the policy learns to say it more,
// the KL penalty holds it near the SFT model, and the KL bound stops or warns.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { cloneModel, initBackend, trainPpo, trainSft, type CausalLM, type PpoConfig, type PpoProgress, type Tokenizer } from '../../packages/ml/src/index.ts';
import { demonstrations, keywordShare, PROMPTS, pretrainedBase, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let sft: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  const base = await pretrainedBase(tok);
  sft = (await trainSft({ model: base, tokenizer: tok, data: demonstrations(120, 2), config: { epochs: 8, batchSize: 16, lr: 5e-3, warmupSteps: 5, evalEvery: 100, seed: 3 } })).model;
  base.dispose();
});

const CONFIG: Partial<PpoConfig> = { iterations: 25, lr: 1e-3, promptsPerIteration: 4, samplesPerPrompt: 4, maxAnswerTokens: 8, ppoEpochs: 2, miniBatches: 2, seed: 1 };
const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

let klWithPenalty: number;

test('PPO raises the mean reward while the KL to the SFT model stays under its bound', async () => {
  const sftBefore = sft.params.wte.dataSync().slice();
  const progress: PpoProgress[] = [];
  // Gold: the keyword once, not a list of it: what the proxy reward cannot tell.
  const gold = (_p: unknown, a: string) => (a.split(' ').filter((w) => w === 'cat').length === 1 ? 1 : 0);
  const res = await trainPpo({
    policy: sft, tokenizer: tok, prompts: PROMPTS, reward, goldReward: gold,
    config: { ...CONFIG, klCoef: 0.2, maxKl: 4, goldEvery: 5 },
    onProgress: (p) => progress.push(p),
  });
  klWithPenalty = mean(res.history.slice(-10).map((h) => h.kl));
  assert.equal(res.stopped, null);
  assert.equal(res.iterations, 25);
  const rewards = res.history.map((h) => h.meanReward);
  const [start, end] = [mean(rewards.slice(0, 5)), mean(rewards.slice(-5))];
  assert.ok(end > start + 0.15, `mean reward ${start.toFixed(3)} → ${end.toFixed(3)}`);
  assert.ok(res.history.every((h) => h.kl < 4), `KL per iteration: ${res.history.map((h) => h.kl.toFixed(2))}`);
  for (const h of res.history) {
    for (const k of ['entropy', 'clipFraction', 'answerLength', 'policyLoss', 'valueLoss'] as const) assert.ok(Number.isFinite(h[k]), `${k} logged`);
    assert.ok(h.answerLength >= 1 && h.answerLength <= 8 && h.clipFraction >= 0 && h.clipFraction <= 1 && h.entropy > 0);
    assert.ok(h.sampleSeconds > 0 && h.scoreSeconds >= 0 && h.trainSeconds > 0, `time split ${h.sampleSeconds} / ${h.scoreSeconds} / ${h.trainSeconds} s`);
  }
  assert.ok(res.history.at(-1)!.entropy < res.history[0].entropy, 'the policy grows more certain');
  assert.deepEqual(res.evals.map((e) => e.iteration), [0, 5, 10, 15, 20, 25]);
  assert.deepEqual(progress.filter((p) => p.phase === 'eval').map((p) => p.step), [5, 10, 15, 20, 25]);
  assert.ok(progress.filter((p) => p.phase === 'eval').every((p) => Number.isFinite(p.goldReward) && Number.isFinite(p.evalReward)));
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the reference (SFT) model is frozen');
  assert.equal(res.policy.hasHead, false, 'the value head is not part of the returned policy');
  res.policy.dispose();
});

test('without the KL penalty (β = 0) the policy drifts further from the SFT model; the bound warns', async () => {
  const res = await trainPpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, config: { ...CONFIG, klCoef: 0, maxKl: 3, onKlExceeded: 'warn' } });
  const klFree = mean(res.history.slice(-10).map((h) => h.kl));
  assert.ok(klFree > 2 * klWithPenalty, `KL with β=0 ${klFree.toFixed(2)} vs β=0.2 ${klWithPenalty.toFixed(2)}`);
  assert.equal(res.iterations, 25, 'warn mode runs to the end');
  const over = res.history.filter((h) => h.kl > 3).map((h) => h.iteration);
  assert.ok(over.length > 0);
  assert.deepEqual(res.warnings.map((w) => w.iteration), over);
  assert.ok(res.warnings.every((w) => w.code === 'kl-exceeded' && /bound of 3/.test(w.message)));
  res.policy.dispose();
});

test("passing the KL bound stops the run with 'kl-exceeded'; a reward model can score the answers", async () => {
  // A stand-in reward model that gives every answer 0.5: its head has zero weights and bias 0.5.
  const rewardModel = cloneModel(sft);
  rewardModel.attachHead();
  rewardModel.params['head.b'].assign(rewardModel.params['head.b'].add(0.5));
  const res = await trainPpo({
    policy: sft, tokenizer: tok, prompts: PROMPTS, reward,
    config: { ...CONFIG, klCoef: 0, maxKl: 0.8, onKlExceeded: 'stop' },
  });
  assert.equal(res.stopped?.code, 'kl-exceeded');
  assert.match(res.stopped!.message, /bound of 0.8/);
  assert.ok(res.stopped!.suggestion.length > 0);
  assert.ok(res.iterations < 25 && res.history.every((h) => h.kl <= 0.8));
  res.policy.dispose();

  const scored = await trainPpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward: rewardModel, config: { ...CONFIG, iterations: 2 } });
  assert.ok(scored.history.every((h) => Math.abs(h.meanReward - 0.5) < 1e-6));
  scored.policy.dispose();
  rewardModel.dispose();
});

test('an adaptive β rises while the KL is above its target and falls while below', async () => {
  const res = await trainPpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, config: { ...CONFIG, iterations: 10, klCoef: 0.05, klTarget: 0.5, klHorizon: 40 } });
  const h = res.history;
  assert.ok(h.some((x) => x.kl > 0.5) && h.some((x) => x.kl < 0.5), `KL ${h.map((x) => x.kl.toFixed(2))}`);
  for (let i = 0; i + 1 < h.length; i++) {
    const factor = h[i + 1].klCoef / h[i].klCoef;
    const expected = 1 + (Math.min(0.2, Math.max(-0.2, h[i].kl / 0.5 - 1)) * 16) / 40;
    assert.ok(Math.abs(factor - expected) < 1e-9, `iteration ${i}: β × ${factor}, expected × ${expected}`);
  }
  res.policy.dispose();
});
