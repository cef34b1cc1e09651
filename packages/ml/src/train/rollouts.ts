// What the online trainers (PPO, GRPO, best-of-N) share: answers sampled from the policy to
// prompts (KV-cached), scored by a reward model or a reward function, and per-token numbers of
// those answers under the policy and the frozen reference (log-probabilities, entropy, values).
import * as tf from '@tensorflow/tfjs';
import { chatStopIds, renderPrompt } from '../chat.ts';
import type { CausalLM } from '../models/index.ts';
import { TrainingError } from '../pretrain.ts';
import { answerText, generate } from '../sample.ts';
import type { Tokenizer } from '../tokenizers/index.ts';
import { answerLogProbs, padBatch, promptTurns, renderAnswer, type Batch, type Prompt, type Row } from './common.ts';
import { scoreRewards } from './reward.ts';

/** Scores an answer to a prompt; higher is better. */
export type RewardFn = (prompt: Prompt, answer: string) => number;

/** One sampled answer: prompt + answer ids with the mask on the answer (the stop token that ended it included). */
export interface Rollout {
  prompt: Prompt;
  row: Row;
  text: string;
}

/**
 * `n` answers to each prompt, the k-th prompt sampled with seed + k. temperature 0 is greedy
 * (then n should be 1). The prompt keeps its last tokens so that maxTokens fit the context.
 */
export function sampleRollouts(policy: CausalLM, tok: Tokenizer, prompts: readonly Prompt[], n: number, maxTokens: number, seed: number, temperature = 1): Rollout[] {
  const stop = chatStopIds(tok);
  const room = policy.config.blockSize + 1 - maxTokens;
  return prompts.flatMap((prompt, k) => {
    const ids = renderPrompt(tok, promptTurns(prompt)).slice(-room);
    return generate(policy, ids, { n, maxTokens, stop, seed: seed + k, temperature }).map((s) => {
      const answer = s.stopId === undefined ? s.tokens : [...s.tokens, s.stopId];
      return {
        prompt,
        row: { ids: [...ids, ...answer], mask: [...ids.map(() => 0), ...answer.map(() => 1)] },
        text: answerText(tok, s.tokens),
      };
    });
  });
}

/** Scores of answers: a reward model's in batches, or a function's (refused when not finite). */
export function scoreAnswers(reward: CausalLM | RewardFn, tok: Tokenizer, items: readonly { prompt: Prompt; text: string }[]): number[] {
  if (typeof reward !== 'function') return scoreRewards(reward, tok, items.map((it) => ({ prompt: it.prompt, answer: it.text })));
  return items.map((it) => {
    const r = reward(it.prompt, it.text);
    if (!Number.isFinite(r)) throw new TrainingError('invalid-config', `the reward function returned ${r} for answer "${it.text.slice(0, 80)}"`, 'make the reward function return a finite number');
    return r;
  });
}

export const mean = (xs: readonly number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);

/**
 * [B·T] arrays of a batch: per-token log-probs under policy and reference, the policy's
 * next-token entropy, and (with `values`) its value head.
 */
export function rolloutTensors(policy: CausalLM, reference: CausalLM, batch: Batch, values = false): { logp: Float32Array; refLogp: Float32Array; entropy: Float32Array; values?: Float32Array } {
  return tf.tidy(() => {
    const out = policy.forward(batch.x, { targets: batch.y, head: values });
    const ref = reference.forward(batch.x, { targets: batch.y });
    const z = out.logits!.sub(out.logits!.max(-1, true));
    const logSoftmax = z.sub(z.exp().sum(-1, true).log());
    const entropy = logSoftmax.exp().mul(logSoftmax).sum(-1).neg();
    return {
      logp: out.logProbs!.dataSync() as Float32Array,
      refLogp: ref.logProbs!.dataSync() as Float32Array,
      entropy: entropy.dataSync() as Float32Array,
      values: values ? (out.head!.dataSync() as Float32Array) : undefined,
    };
  });
}

/**
 * The sampled KL of a policy to a reference: the mean over answers of Σ_t (log π − log π_ref),
 * nats per answer, on answers sampled from the policy (what PPO and GRPO log, and what the policy
 * comparison reports for every method).
 */
export function sampledKl(policy: CausalLM, reference: CausalLM, rollouts: readonly Rollout[], padId: number, batchSize = 16): number {
  let sum = 0;
  for (let i = 0; i < rollouts.length; i += batchSize) {
    const part = rollouts.slice(i, i + batchSize);
    sum += tf.tidy(() => {
      const { x, y, mask } = padBatch(part.map((r) => r.row), padId);
      const lp = policy.forward(x, { targets: y }).logProbs!;
      const ref = reference.forward(x, { targets: y }).logProbs!;
      return lp.sub(ref).mul(mask).sum().dataSync()[0];
    });
  }
  return sum / Math.max(1, rollouts.length);
}

/** log π(answer | prompt) of answer texts under a model (rendered with its own tokenizer), in batches. */
export function textLogProbs(model: CausalLM, tok: Tokenizer, items: readonly { prompt: Prompt; text: string }[], batchSize = 16): number[] {
  const out: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const rows = items.slice(i, i + batchSize).map((it) => renderAnswer(tok, it.prompt, it.text, model.config.blockSize + 1));
    out.push(...tf.tidy(() => answerLogProbs(model, padBatch(rows, tok.eotId)).dataSync()));
  }
  return out;
}
