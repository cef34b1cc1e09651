// SFT, reward model, DPO, PPO, GRPO, KTO and best-of-N stopped mid-run resume from their last checkpoint and end
// bit-for-bit where an uninterrupted run ends (batches, dropout and sampling depend only on the
// seed and the step), as a retried job does.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, trainBestOfN, trainDpo, trainGrpo, trainKto, trainPpo, trainRewardModel, trainSft, TrainingError, type CausalLM, type Tokenizer } from '../../packages/ml/src/index.ts';
import { demonstrations, keywordPairs, keywordShare, PROMPTS, tinyModel, toyTokenizer } from './fixtures/rlhf.ts';

let tok: Tokenizer;
let base: CausalLM;
before(async () => {
  await initBackend('wasm');
  tok = toyTokenizer();
  base = tinyModel(tok);
});

interface RunOptions {
  checkpointDir?: string;
  signal?: AbortSignal;
  onProgress: (p: { step: number }) => void;
  beforeCheckpoint: () => Promise<void>;
}

/** A trained model and everything else the trainer's result says. */
type Trained = { model: CausalLM; report: Record<string, unknown> };

/** The report less its wall-clock times (PPO's sampleSeconds, scoreSeconds, trainSeconds), which no two runs share. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => !k.endsWith('Seconds')).map(([k, v]) => [k, withoutTimes(v)]));
  return value;
}

/**
 * Runs `train` uninterrupted; then stopped (aborted) after step `stopAt` with a checkpoint every
 * `every` steps; then again on that run's folder. The last run must go on after the last
 * checkpoint and end with the uninterrupted run's weights and report.
 */
async function stopAndResume(stopAt: number, every: number, train: (opts: RunOptions) => Promise<Trained>): Promise<Trained> {
  const run = async (checkpointDir?: string, stop?: AbortController) => {
    const steps: number[] = [];
    const checkpoints: number[] = [];
    const out = await train({
      checkpointDir,
      signal: stop?.signal,
      onProgress: (p) => {
        steps.push(p.step);
        if (p.step === stopAt) stop?.abort();
      },
      beforeCheckpoint: async () => void checkpoints.push(steps.at(-1)!),
    });
    return { ...out, steps, checkpoints };
  };
  const dir = mkdtempSync(join(tmpdir(), 'ml-resume-'));
  const checkpoint = join(dir, 'checkpoint');
  try {
    const fresh = await run();
    const from = stopAt - (stopAt % every);
    assert.deepEqual(fresh.checkpoints, [], 'no checkpoint without a folder');
    await assert.rejects(run(checkpoint, new AbortController()), (e: unknown) => e instanceof TrainingError && e.code === 'aborted');
    assert.ok(existsSync(join(checkpoint, 'manifest.json')), 'a checkpoint was saved before the stop');
    const resumed = await run(checkpoint);
    assert.deepEqual(resumed.checkpoints, fresh.steps.filter((s) => s > from && s % every === 0), 'beforeCheckpoint runs after the progress of the step saved');
    assert.deepEqual(resumed.steps, fresh.steps.filter((s) => s > from), `goes on after the step-${from} checkpoint`);
    assert.deepEqual(withoutTimes(resumed.report), withoutTimes(fresh.report));
    assert.deepEqual(Object.keys(resumed.model.params), Object.keys(fresh.model.params));
    for (const [name, v] of Object.entries(fresh.model.params)) {
      const [a, b] = [resumed.model.params[name].dataSync<'float32'>(), v.dataSync<'float32'>()];
      assert.ok(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `${name} differs`);
    }
    resumed.model.dispose();
    return fresh;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SFT resumes with its best weights so far and early-stops where the uninterrupted run does', async () => {
  const { model, report } = await stopAndResume(11, 5, async (opts) => {
    const { model, ...report } = await trainSft({
      model: base, tokenizer: tok, data: demonstrations(12, 6), ...opts,
      config: { epochs: 40, batchSize: 9, lr: 2e-2, minLr: 2e-2, warmupSteps: 0, valFraction: 0.25, evalEvery: 2, patience: 3, checkpointEvery: 5, seed: 7 },
    });
    return { model, report };
  });
  // The returned (best) weights are from before the checkpoint the run resumed from.
  assert.equal((report.stopped as { code: string } | null)?.code, 'early-stopped');
  assert.ok((report.bestStep as number) <= 10 && (report.steps as number) > 11, JSON.stringify(report));
  model.dispose();
});

test('a reward model (LoRA) resumes where it stopped', async () => {
  const { model } = await stopAndResume(4, 3, async (opts) => {
    const { model, ...report } = await trainRewardModel({
      model: base, tokenizer: tok, pairs: keywordPairs(24, 8), ...opts,
      config: { lora: { rank: 2, alpha: 4 }, epochs: 2, batchSize: 8, lr: 1e-2, warmupSteps: 2, evalEvery: 2, checkpointEvery: 3, seed: 5 },
    });
    return { model, report };
  });
  model.dispose();
});

test('DPO resumes where it stopped', async () => {
  const { model } = await stopAndResume(5, 2, async (opts) => {
    const { policy, ...report } = await trainDpo({
      policy: base, tokenizer: tok, pairs: keywordPairs(24, 8), ...opts,
      config: { epochs: 2, batchSize: 8, lr: 5e-3, beta: 0.2, warmupSteps: 2, evalEvery: 3, checkpointEvery: 2, seed: 5 },
    });
    return { model: policy, report };
  });
  model.dispose();
});

test('PPO resumes with its adaptive β, prompt queue and last policy within the KL bound', async () => {
  const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
  const { model, report } = await stopAndResume(4, 3, async (opts) => {
    const { policy, ...report } = await trainPpo({
      policy: base, tokenizer: tok, prompts: PROMPTS.slice(0, 5), reward, goldReward: reward, ...opts,
      config: { iterations: 6, promptsPerIteration: 3, samplesPerPrompt: 2, maxAnswerTokens: 6, ppoEpochs: 1, miniBatches: 2, lr: 3e-3, klTarget: 0.05, klHorizon: 20, goldEvery: 2, checkpointEvery: 3, seed: 1 },
    });
    return { model: policy, report };
  });
  const betas = (report.history as { klCoef: number }[]).map((h) => h.klCoef);
  assert.ok(new Set(betas).size > 1, `β adapted: ${betas}`);
  model.dispose();
});

test('GRPO resumes with its adaptive β, prompt queue and last policy within the KL bound', async () => {
  const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
  const { model, report } = await stopAndResume(4, 3, async (opts) => {
    const { policy, ...report } = await trainGrpo({
      policy: base, tokenizer: tok, prompts: PROMPTS.slice(0, 5), reward, goldReward: reward, ...opts,
      config: { iterations: 6, promptsPerIteration: 2, groupSize: 3, maxAnswerTokens: 6, grpoEpochs: 1, miniBatches: 2, lr: 3e-3, klTarget: 0.05, klHorizon: 20, goldEvery: 2, checkpointEvery: 3, seed: 1 },
    });
    return { model: policy, report };
  });
  const betas = (report.history as { klCoef: number }[]).map((h) => h.klCoef);
  assert.ok(new Set(betas).size > 1, `β adapted: ${betas}`);
  model.dispose();
});

test('KTO resumes where it stopped', async () => {
  const examples = keywordPairs(12, 8).flatMap((p) => [{ prompt: p.prompt, completion: p.chosen, label: true }, { prompt: p.prompt, completion: p.rejected, label: false }]);
  const { model } = await stopAndResume(5, 2, async (opts) => {
    const { policy, ...report } = await trainKto({
      policy: base, tokenizer: tok, examples, ...opts,
      config: { epochs: 2, batchSize: 8, lr: 5e-3, beta: 0.2, warmupSteps: 2, evalEvery: 3, checkpointEvery: 2, seed: 5 },
    });
    return { model: policy, report };
  });
  model.dispose();
});

test("best-of-N resumes inside its second round, with the first round's policy and record", async () => {
  const reward = (_prompt: unknown, answer: string) => keywordShare(answer);
  // 2 rounds of 2 epochs × 2 batches: stopped at step 5, in round 2, after the round-1 checkpoint at step 4
  const { model, report } = await stopAndResume(5, 2, async (opts) => {
    const { policy, ...report } = await trainBestOfN({
      policy: base, tokenizer: tok, prompts: PROMPTS.slice(0, 4), reward, goldReward: reward, ...opts,
      config: { rounds: 2, samplesPerPrompt: 3, maxAnswerTokens: 6, epochs: 2, batchSize: 2, lr: 5e-3, warmupSteps: 1, checkpointEvery: 2, seed: 3 },
    });
    return { model: policy, report };
  });
  assert.equal((report.rounds as unknown[]).length, 2);
  model.dispose();
});
