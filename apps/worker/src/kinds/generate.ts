// generate: K answers per prompt (the next assistant turn of its dialogue) from one or several models → comparisons for raters. The K slots
// of each prompt are dealt round-robin over the models (shifted per prompt) and shuffled with a
// seeded PRNG, so neither position nor count gives a model away; each answer records its modelId and
// sampling settings for researchers, never shown to raters. With a judge, each answer also records
// the reward model's score and its log-ratio to the reference model (the policy comparison). The
// database is the checkpoint: a retried job skips prompts that already have this job's comparison.
// Prompts are sampled in batches.
import { createComparison } from '@jielong/db';
import { answerText, chatStopIds, generateBatch, promptTurns, renderPrompt, scoreRewards, shuffled, textLogProbs, TrainingError, type Prompt } from '@jielong/ml';
import { GenerateHyperparamsSchema, PromptRowSchema, type NewAnswer } from '@jielong/shared';
import type { JobRun, LoadedModel } from '../job-run.ts';
import type { KindResult } from './types.ts';

/** Prompts sampled together: their answers advance in one batched step on the native decoder. */
const PROMPTS_PER_BATCH = 8;

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
  // Seconds spent sampling, and judging and storing comparisons (this attempt): the job page shows the split.
  const time = { sampleSeconds: 0, otherSeconds: 0 };
  try {
    for (const id of run.job.inputModelIds) models.push(await run.loadModel(id));
    if (hp.judge) for (const id of [hp.judge.rewardModelId, hp.judge.referenceModelId]) judges.push(await run.loadModel(id));
    const [rewardModel, reference] = judges;
    const todo = rows.map((row, i) => ({ row, i })).filter(({ row }) => !done.has(row.promptId));
    for (let b = 0; b < todo.length; b += PROMPTS_PER_BATCH) {
      if (run.signal.aborted) throw new TrainingError('aborted', `generation aborted after ${todo[b].i} prompts`);
      const batch = todo.slice(b, b + PROMPTS_PER_BATCH);
      const t0 = performance.now();
      const texts: { m: LoadedModel; j: number; sampling: NewAnswer['sampling']; texts: string[] }[] = [];
      models.forEach((m, mi) => {
        const sampling = { temperature: hp.temperature, topK: hp.topK, topP: hp.topP, maxTokens: hp.maxTokens };
        // chat.ts renders the dialogue (a plain prompt: one user turn) in the model's chat format; a
        // base that never saw a chat turn (an imported one nobody fine-tuned yet) continues the
        // turns as plain text instead.
        const requests = batch
          .map(({ row, i }, j) => ({
            j,
            prompt: renderPrompt(m.tokenizer, promptTurns(row.prompt)),
            n: Array.from({ length: K }, (_, k) => (k + i) % models.length).filter((x) => x === mi).length,
            seed: hp.seed + i * 1009 + mi,
          }))
          .filter((r) => r.n > 0);
        const samples = generateBatch(m.model, requests, { ...sampling, stop: chatStopIds(m.tokenizer) });
        samples.forEach((list, k) => {
          const { j, seed } = requests[k];
          texts.push({ m, j, sampling: { ...sampling, seed }, texts: list.map((s) => cleanAnswer(answerText(m.tokenizer, s.tokens))) });
        });
      });
      time.sampleSeconds += (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const answers: (NewAnswer & { reward?: number; logRatio?: number })[][] = batch.map(() => []);
      for (const { m, j, sampling, texts: list } of texts) {
        const judged = rewardModel ? judge(m, rewardModel, reference, batch[j].row.prompt, list) : [];
        list.forEach((text, k) => answers[j].push({ text, modelId: m.row.id, sampling, ...judged[k] }));
      }
      for (const [j, { row, i }] of batch.entries()) {
        await createComparison(run.prisma, {
          projectId: run.job.projectId,
          promptId: row.promptId,
          answers: shuffled(answers[j], hp.seed + i),
          requiredRankings,
          jobId: run.id,
        });
        run.metric(i + 1, { prompts: i + 1, answers: answers[j].length, ...time, otherSeconds: time.otherSeconds + (performance.now() - t1) / 1000 }, rows.length);
      }
      time.otherSeconds += (performance.now() - t1) / 1000;
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
