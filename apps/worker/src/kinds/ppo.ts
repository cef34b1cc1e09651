// ppo: the SFT model + a reward model + the frozen prompts → policy. The SFT model stays frozen as
// the KL reference; passing the KL bound stops the run with the last policy within it (a notice).
import { rewardModelFn, trainPpo, type PpoProgress } from '@jielong/ml';
import { PpoHyperparamsSchema, PromptRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import { runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runPpo(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(PpoHyperparamsSchema);
  const prompts = (await run.dataset(PromptRowSchema)).map((r) => r.prompt);
  // Seconds spent so far in this attempt sampling, scoring and training: the job page shows the split.
  const time = { sampleSeconds: 0, scoreSeconds: 0, trainSeconds: 0 };
  return runTrainer(
    run,
    (p: PpoProgress) => {
      time.sampleSeconds += p.sampleSeconds;
      time.scoreSeconds += p.scoreSeconds;
      time.trainSeconds += p.trainSeconds;
      return {
        reward: p.meanReward, kl: p.kl, klCoef: p.klCoef, entropy: p.entropy, clipFraction: p.clipFraction, answerLength: p.answerLength,
        policyLoss: p.policyLoss, valueLoss: p.valueLoss, evalReward: p.evalReward, ...time,
      };
    },
    async ([sft, reward], job) => {
      // scored in batches when both read the same tokens; otherwise the reward model re-reads the text
      const sameTokenizer = JSON.stringify(reward.tokenizer.toJSON()) === JSON.stringify(sft.tokenizer.toJSON());
      if (!sameTokenizer) await run.log(`the reward model has another tokenizer than the policy: answers are scored one by one`, 'warn', 'reward-tokenizer');
      const result = await trainPpo({
        policy: sft.model,
        tokenizer: sft.tokenizer,
        prompts,
        reward: sameTokenizer ? reward.model : rewardModelFn(reward.model, reward.tokenizer),
        config: hp,
        ...job,
        onProgress: (p) => {
          job.onProgress(p);
          if (p.warning) void run.log(p.warning.message, 'warn');
        },
      });
      const first = result.history.slice(0, 5);
      const last = result.history.slice(-5);
      const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / Math.max(1, xs.length);
      return {
        model: result.policy,
        kind: 'policy',
        state: { step: result.iterations },
        metrics: {
          method: 'ppo',
          rewardModelId: reward.row.id,
          iterations: result.iterations,
          rewardStart: mean(first.map((h) => h.meanReward)),
          rewardEnd: mean(last.map((h) => h.meanReward)),
          klEnd: mean(last.map((h) => h.kl)),
          time: { ...time },
          history: result.history,
        },
        notice: result.stopped ?? undefined,
      };
    },
  );
}
