// best_of_n: the SFT model + a reward model + the frozen prompts → policy, by rejection sampling:
// each round keeps the reward model's best of N sampled answers per prompt and fine-tunes on them.
import { trainBestOfN, type BestOfNProgress } from '@jielong/ml';
import { BestOfNHyperparamsSchema, PromptRowSchema } from '@jielong/shared';
import type { JobRun } from '../job-run.ts';
import { rewardFor, runTrainer } from './trainer.ts';
import type { KindResult } from './types.ts';

export async function runBestOfN(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(BestOfNHyperparamsSchema);
  const prompts = (await run.dataset(PromptRowSchema)).map((r) => r.prompt);
  return runTrainer(
    run,
    (p: BestOfNProgress) => ({
      round: p.round, epoch: p.epoch, loss: p.trainLoss, sampledReward: p.sampledReward, keptReward: p.keptReward, evalReward: p.evalReward, kl: p.kl,
    }),
    async ([sft, reward], job) => {
      const { policy, tokenizer, ...result } = await trainBestOfN({ policy: sft.model, tokenizer: sft.tokenizer, prompts, reward: await rewardFor(run, sft, reward), config: hp, ...job });
      const last = result.rounds.at(-1)!;
      return {
        model: policy,
        tokenizer,
        kind: 'policy',
        state: { step: result.steps },
        // rewardStart/End: the greedy answers' reward before the first round and after the last
        metrics: { method: 'best_of_n', rewardModelId: reward.row.id, rewardStart: result.initial.greedyReward, rewardEnd: last.greedyReward, klEnd: last.kl, ...result },
        summary: `greedy answers' reward ${result.initial.greedyReward.toFixed(3)} → ${last.greedyReward.toFixed(3)} after ${result.rounds.length} round(s)`,
      };
    },
  );
}
