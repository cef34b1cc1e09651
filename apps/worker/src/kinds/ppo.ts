// ppo: the SFT model + a reward model + the frozen prompts → policy. The SFT model stays frozen as
// the KL reference; passing the KL bound stops the run with the last policy within it (a notice).
import { trainPpo, type PpoProgress } from '@jielong/ml';
import { PpoHyperparamsSchema, PromptRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import { onlineSummary, rewardFor, runTrainer } from './trainer.ts';
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
      const result = await trainPpo({
        policy: sft.model,
        tokenizer: sft.tokenizer,
        prompts,
        reward: await rewardFor(run, sft, reward),
        config: hp,
        ...job,
        onProgress: (p) => {
          job.onProgress(p);
          if (p.warning) void run.log(p.warning.message, 'warn');
        },
      });
      return {
        model: result.policy,
        kind: 'policy',
        state: { step: result.iterations },
        metrics: {
          method: 'ppo',
          rewardModelId: reward.row.id,
          iterations: result.iterations,
          ...onlineSummary(result.history),
          time: { ...time },
          history: result.history,
        },
        notice: result.stopped ?? undefined,
      };
    },
  );
}
