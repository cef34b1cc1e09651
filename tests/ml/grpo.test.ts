// GRPO against a known reward (the share of "cat" in an answer): group-normalised advantages raise
// the mean reward while the KL to the SFT model stays under its bound, β = 0 drifts further, and the
// same seed gives the same run bit for bit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { groupAdvantages, initBackend, trainGrpo, trainSft, TrainingError, type CausalLM, type GrpoConfig, type GrpoProgress, type Tokenizer } from '../../packages/ml/src/index.ts';
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

const CONFIG: Partial<GrpoConfig> = { iterations: 20, lr: 1e-3, promptsPerIteration: 2, groupSize: 8, maxAnswerTokens: 8, grpoEpochs: 2, miniBatches: 2, seed: 1 };
const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

test('advantages are normalised within each group; a flat group teaches nothing', () => {
  const { advantages, spread } = groupAdvantages([1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5], 4, true);
  assert.deepEqual(advantages.slice(4), [0, 0, 0, 0]);
  assert.ok(Math.abs(advantages[0] - 0.5 / (0.5 + 1e-4)) < 1e-9 && Math.abs(advantages[1] + 0.5 / (0.5 + 1e-4)) < 1e-9);
  assert.equal(spread, 0.25);
  assert.deepEqual(groupAdvantages([1, 0, 3, 3], 2, false).advantages, [0.5, -0.5, 0, 0]);
});

let klWithPenalty: number;
let firstRun: GrpoProgress[];

test('GRPO raises the mean reward while the KL to the SFT model stays under its bound', async () => {
  const sftBefore = sft.params.wte.dataSync().slice();
  const progress: GrpoProgress[] = [];
  const gold = (_p: unknown, a: string) => (a.split(' ').filter((w) => w === 'cat').length === 1 ? 1 : 0);
  const res = await trainGrpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, goldReward: gold, config: { ...CONFIG, klCoef: 1, maxKl: 3, goldEvery: 5 }, onProgress: (p) => progress.push(p) });
  firstRun = progress;
  klWithPenalty = mean(res.history.slice(-8).map((h) => h.kl));
  assert.equal(res.stopped, null);
  assert.equal(res.iterations, 20);
  const rewards = res.history.map((h) => h.meanReward);
  const [start, end] = [mean(rewards.slice(0, 4)), mean(rewards.slice(-4))];
  assert.ok(end > start + 0.1, `mean reward ${start.toFixed(3)} → ${end.toFixed(3)}`);
  assert.ok(res.history.every((h) => h.kl < 3), `KL per iteration: ${res.history.map((h) => h.kl.toFixed(2))}`);
  for (const h of res.history) {
    for (const k of ['entropy', 'clipFraction', 'answerLength', 'policyLoss', 'rewardSpread'] as const) assert.ok(Number.isFinite(h[k]), `${k} logged`);
    assert.ok(h.answerLength >= 1 && h.answerLength <= 8 && h.clipFraction >= 0 && h.clipFraction <= 1 && h.rewardSpread >= 0);
  }
  assert.ok(res.history.some((h) => h.clipFraction > 0), 'the second mini-batch and epoch see ratios away from 1');
  assert.deepEqual(res.evals.map((e) => e.iteration), [0, 5, 10, 15, 20]);
  assert.deepEqual(progress.filter((p) => p.phase === 'eval').map((p) => p.step), [5, 10, 15, 20]);
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the reference (SFT) model is frozen');
  assert.equal(res.policy.hasHead, false, 'no value head');
  res.policy.dispose();
});

test('the same seed repeats the run bit for bit', async () => {
  const progress: GrpoProgress[] = [];
  const gold = (_p: unknown, a: string) => (a.split(' ').filter((w) => w === 'cat').length === 1 ? 1 : 0);
  const res = await trainGrpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, goldReward: gold, config: { ...CONFIG, klCoef: 1, maxKl: 3, goldEvery: 5 }, onProgress: (p) => progress.push(p) });
  const strip = (ps: GrpoProgress[]) => ps.map((p) => ({ ...p, etaSeconds: 0 }));
  assert.deepEqual(strip(progress), strip(firstRun));
  res.policy.dispose();
});

test('without the KL term (β = 0) the policy drifts further from the SFT model; the bound warns', async () => {
  const res = await trainGrpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, config: { ...CONFIG, klCoef: 0, maxKl: 3, onKlExceeded: 'warn' } });
  const klFree = mean(res.history.slice(-8).map((h) => h.kl));
  assert.ok(klFree > 2 * klWithPenalty, `KL with β=0 ${klFree.toFixed(2)} vs β=1 ${klWithPenalty.toFixed(2)}`);
  assert.equal(res.iterations, 20, 'warn mode runs to the end');
  assert.deepEqual(res.warnings.map((w) => w.iteration), res.history.filter((h) => h.kl > 3).map((h) => h.iteration));
  res.policy.dispose();
});

test("passing the KL bound stops the run with 'kl-exceeded'; a group of one is refused", async () => {
  const res = await trainGrpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, config: { ...CONFIG, klCoef: 0, maxKl: 0.8, onKlExceeded: 'stop' } });
  assert.equal(res.stopped?.code, 'kl-exceeded');
  assert.match(res.stopped!.message, /bound of 0.8/);
  assert.ok(res.iterations < 20 && res.history.every((h) => h.kl <= 0.8));
  res.policy.dispose();
  await assert.rejects(
    trainGrpo({ policy: sft, tokenizer: tok, prompts: PROMPTS, reward, config: { groupSize: 1 } }),
    (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /groupSize/.test(e.message),
  );
});
