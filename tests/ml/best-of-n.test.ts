// Best-of-N rejection sampling against a known reward (the share of "cat"): one round of sampling
// N answers, keeping the best and fine-tuning on them raises the reward of the policy's greedy
// answers; the same seed repeats the run bit for bit.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chatStopIds, generate, initBackend, renderPrompt, trainBestOfN, trainSft, type BestOfNProgress, type CausalLM, type Tokenizer } from '../../packages/ml/src/index.ts';
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

const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
/** Mean reward of the greedy answer to every prompt. */
const greedyReward = (model: CausalLM) =>
  PROMPTS.map((p) => keywordShare(tok.decode(generate(model, renderPrompt(tok, [{ role: 'user', content: p }]), { maxTokens: 8, temperature: 0, stop: chatStopIds(tok) })[0].tokens))).reduce((s, v) => s + v, 0) / PROMPTS.length;
// every prompt 4 times, so a round keeps 4 best answers per prompt
const prompts = PROMPTS.flatMap((p) => [p, p, p, p]);
const CONFIG = { rounds: 1, samplesPerPrompt: 8, maxAnswerTokens: 8, epochs: 3, batchSize: 8, lr: 3e-3, minLr: 3e-4, warmupSteps: 2, seed: 4 };
let first: { progress: BestOfNProgress[]; weights: Float32Array };

test('one round of best-of-N raises the reward of the greedy answers', async () => {
  const sftBefore = sft.params.wte.dataSync().slice();
  const progress: BestOfNProgress[] = [];
  const res = await trainBestOfN({ policy: sft, tokenizer: tok, prompts, reward, evalPrompts: PROMPTS, config: CONFIG, onProgress: (p) => progress.push(p) });
  const [before, after] = [greedyReward(sft), greedyReward(res.policy)];
  assert.equal(res.initial.greedyReward, before, 'the trainer judges greedy answers as this test does');
  assert.equal(res.rounds[0].greedyReward, after);
  assert.ok(after > before + 0.2, `greedy reward ${before.toFixed(3)} → ${after.toFixed(3)}`);
  const r = res.rounds[0];
  assert.ok(r.keptReward > r.sampledReward, `kept ${r.keptReward} vs sampled ${r.sampledReward}`);
  assert.ok(r.kl !== null && r.kl > 0, `KL to the SFT model ${r.kl}`);
  assert.equal(res.steps, 3 * 3);
  assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(progress.at(-1)!.phase, 'eval');
  assert.equal(progress.at(-1)!.evalReward, after);
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the SFT model is not changed');
  first = { progress, weights: res.policy.params.wte.dataSync<'float32'>().slice() };
  res.policy.dispose();
});

test('the same seed repeats the run bit for bit', async () => {
  const progress: BestOfNProgress[] = [];
  const res = await trainBestOfN({ policy: sft, tokenizer: tok, prompts, reward, evalPrompts: PROMPTS, config: CONFIG, onProgress: (p) => progress.push(p) });
  const strip = (ps: BestOfNProgress[]) => ps.map((p) => ({ ...p, etaSeconds: 0 }));
  assert.deepEqual(strip(progress), strip(first.progress));
  assert.ok(Buffer.from(res.policy.params.wte.dataSync<'float32'>().buffer).equals(Buffer.from(first.weights.buffer)));
  res.policy.dispose();
});
