// DPO on pairs where raters prefer answers mentioning "cat": the chosen/rejected log-ratio margin
// grows on held-out pairs, and the policy's own answers mention the keyword more often.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chatStopIds, generate, initBackend, renderPrompt, trainDpo, trainSft, TrainingError, type DpoProgress, type CausalLM, type Tokenizer } from '../../packages/ml/src/index.ts';
import { demonstrations, keywordPairs, keywordShare, PROMPTS, pretrainedBase, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let sft: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  const base = await pretrainedBase(tok);
  sft = (await trainSft({ model: base, tokenizer: tok, data: demonstrations(120, 2), config: { epochs: 8, batchSize: 16, lr: 5e-3, warmupSteps: 5, evalEvery: 100, seed: 3 } })).model;
  base.dispose();
});

/** Mean keyword share of 8 sampled answers to each prompt. */
function keywordRate(model: CausalLM): number {
  const shares = PROMPTS.flatMap((p, k) =>
    generate(model, renderPrompt(tok, [{ role: 'user', content: p }]), { n: 8, maxTokens: 8, stop: chatStopIds(tok), seed: k }).map((a) => keywordShare(tok.decode(a.tokens))),
  );
  return shares.reduce((s, v) => s + v, 0) / shares.length;
}

test('DPO raises the chosen/rejected log-ratio margin on held-out pairs', async () => {
  const sftBefore = sft.params.wte.dataSync().slice();
  const progress: DpoProgress[] = [];
  const res = await trainDpo({
    policy: sft,
    tokenizer: tok,
    pairs: keywordPairs(200, 8),
    config: { epochs: 2, batchSize: 16, lr: 2e-3, beta: 0.1, warmupSteps: 3, evalEvery: 10, valFraction: 0.2, seed: 5 },
    onProgress: (p) => progress.push(p),
  });
  assert.equal(res.valPairs, 80);
  assert.ok(Math.abs(res.initial.margin) < 1e-3, `the copy starts at the reference: margin ${res.initial.margin}`);
  assert.ok(res.final.margin > 2, `held-out margin ${res.final.margin}`);
  assert.ok(res.final.accuracy > 0.7, `held-out accuracy ${res.final.accuracy}`);
  assert.ok(res.final.chosenLogRatio > res.final.rejectedLogRatio);
  const evalMargins = progress.filter((p) => p.phase === 'eval').map((p) => p.valMargin!);
  assert.ok(evalMargins.length >= 3 && evalMargins.at(-1)! > evalMargins[0], `margins ${evalMargins}`);
  assert.ok(progress.every((p) => Number.isFinite(p.margin) && p.accuracy >= 0 && p.accuracy <= 1));
  assert.deepEqual(sft.params.wte.dataSync(), sftBefore, 'the reference (SFT) model is frozen');

  const [before, after] = [keywordRate(sft), keywordRate(res.policy)];
  assert.ok(after > 2 * before, `keyword share of sampled answers ${before.toFixed(3)} → ${after.toFixed(3)}`);
  res.policy.dispose();
});

test('a non-positive β is refused naming the field', async () => {
  await assert.rejects(
    trainDpo({ policy: sft, tokenizer: tok, pairs: keywordPairs(4, 1), config: { beta: 0 } }),
    (e: unknown) => e instanceof TrainingError && e.code === 'invalid-config' && /beta/.test(e.message),
  );
});
