// grpo: the SFT model + a reward model + the frozen prompts → policy, by group-relative advantages
// (no value head). The SFT model stays frozen as the KL reference; passing the KL bound stops the run
// with the last policy within it (a notice), as PPO does.
import { trainGrpo, type GrpoProgress } from '@jielong/ml';
import { GrpoHyperparamsSchema, PromptRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import { onlineSummary, rewardFor, runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runGrpo(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(GrpoHyperparamsSchema);
  const prompts = (await run.dataset(PromptRowSchema)).map((r) => r.prompt);
  return runTrainer(
    run,
    (p: GrpoProgress) => ({
      reward: p.meanReward, rewardSpread: p.rewardSpread, kl: p.kl, klCoef: p.klCoef, entropy: p.entropy, clipFraction: p.clipFraction,
      answerLength: p.answerLength, policyLoss: p.policyLoss, evalReward: p.evalReward,
    }),
    async ([sft, reward], job) => {
      const result = await trainGrpo({
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
        metrics: { method: 'grpo', rewardModelId: reward.row.id, iterations: result.iterations, ...onlineSummary(result.history), history: result.history },
        notice: result.stopped ?? undefined,
      };
    },
  );
}
