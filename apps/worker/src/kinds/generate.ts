// generate: K answers per prompt (the next assistant turn of its dialogue) from one or several models → comparisons for raters. The K slots
// of each prompt are dealt round-robin over the models (shifted per prompt) and shuffled with a
// seeded PRNG, so neither position nor count gives a model away; each answer records its modelId and
// sampling settings for researchers, never shown to raters. With a judge, each answer also records
// the reward model's score and its log-ratio to the reference model (the policy comparison). The
// database is the checkpoint: a retried job skips prompts that already have this job's comparison.
import { createComparison } from '@jielong/db';
import { answerText, chatStopIds, generate, promptTurns, renderPrompt, scoreRewards, shuffled, textLogProbs, TrainingError, type Prompt } from '@jielong/ml';
import { GenerateHyperparamsSchema, PromptRowSchema, type NewAnswer } from '@jielong/shared';
import type { JobRun, LoadedModel } from '../job-run.ts';
import type { KindResult } from './types.ts';

export async function runGenerate(run: JobRun): Promise<KindResult> {
  const hp = run.hyperparams(GenerateHyperparamsSchema);
  const rows = await run.dataset(PromptRowSchema);
  const K = hp.answersPerPrompt ?? 2;
  const requiredRankings = hp.requiredRankings ?? 1;
  const done = new Set(
    (await run.prisma.comparison.findMany({ where: { jobId: run.id }, select: { promptId: true } })).map((c) => c.promptId),
  );
  if (done.size) await run.log(`attempt ${run.attempt}: ${done.size} of ${rows.length} prompts already have comparisons; continuing`, 'info', 'generate-continuing', { attempt: run.attempt, done: done.size, total: rows.length });

  const models: LoadedModel[] = [];
  const judges: LoadedModel[] = [];
  try {
    for (const id of run.job.inputModelIds) models.push(await run.loadModel(id));
    if (hp.judge) for (const id of [hp.judge.rewardModelId, hp.judge.referenceModelId]) judges.push(await run.loadModel(id));
    const [rewardModel, reference] = judges;
    for (const [i, row] of rows.entries()) {
      if (done.has(row.promptId)) continue;
      if (run.signal.aborted) throw new TrainingError('aborted', `generation aborted after ${i} prompts`);
      const answers: (NewAnswer & { reward?: number; logRatio?: number })[] = [];
      models.forEach((m, mi) => {
        const n = Array.from({ length: K }, (_, k) => (k + i) % models.length).filter((x) => x === mi).length;
        if (n === 0) return;
        const sampling = { temperature: hp.temperature, topK: hp.topK, topP: hp.topP, maxTokens: hp.maxTokens, seed: hp.seed + i * 1009 + mi };
        // chat.ts renders the dialogue (a plain prompt: one user turn) in the model's chat format; a
        // base that never saw a chat turn (an imported one nobody fine-tuned yet) continues the
        // turns as plain text instead.
        const ids = renderPrompt(m.tokenizer, promptTurns(row.prompt));
        const samples = generate(m.model, ids, { ...sampling, n, stop: chatStopIds(m.tokenizer) });
        const texts = samples.map((s) => cleanAnswer(answerText(m.tokenizer, s.tokens)));
        const judged = rewardModel ? judge(m, rewardModel, reference, row.prompt, texts) : [];
        texts.forEach((text, k) => answers.push({ text, modelId: m.row.id, sampling, ...judged[k] }));
      });
      await createComparison(run.prisma, {
        projectId: run.job.projectId,
        promptId: row.promptId,
        answers: shuffled(answers, hp.seed + i),
        requiredRankings,
        jobId: run.id,
      });
      run.metric(i + 1, { prompts: i + 1, answers: answers.length }, rows.length);
      await new Promise((resolve) => setImmediate(resolve)); // let heartbeats and cancel polls run
    }
  } finally {
    for (const m of [...models, ...judges]) m.model.dispose();
  }
  await run.log(`created comparisons for ${rows.length} prompts, ${K} answers each`, 'info', 'generated', { prompts: rows.length, answers: K });
  return {};
}

/** Each answer's reward-model score and log π_model − log π_reference, every model reading the text with its own tokenizer. */
function judge(m: LoadedModel, rewardModel: LoadedModel, reference: LoadedModel, prompt: Prompt, texts: string[]): { reward: number; logRatio: number }[] {
  const items = texts.map((text) => ({ prompt, text }));
  const rewards = scoreRewards(rewardModel.model, rewardModel.tokenizer, texts.map((answer) => ({ prompt, answer })));
  const own = textLogProbs(m.model, m.tokenizer, items);
  const ref = m.row.id === reference.row.id ? own : textLogProbs(reference.model, reference.tokenizer, items);
  return texts.map((_, k) => ({ reward: rewards[k], logRatio: own[k] - ref[k] }));
}

/** Sampled bytes may include control characters (Postgres text cannot hold NUL); raters need none of them. */
function cleanAnswer(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
}
