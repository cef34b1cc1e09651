// generate: K answers per prompt (the next assistant turn of its dialogue) from one or several models → comparisons for raters. The K slots
// of each prompt are dealt round-robin over the models (shifted per prompt) and shuffled with a
// seeded PRNG, so neither position nor count gives a model away; each answer records its modelId and
// sampling settings for researchers, never shown to raters. The database is the checkpoint: a
// retried job skips prompts that already have this job's comparison.
import { createComparison } from '@jielong/db';
import { answerText, chatStopIds, generate, promptTurns, renderPrompt, shuffled, TrainingError } from '@jielong/ml';
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
  try {
    for (const id of run.job.inputModelIds) models.push(await run.loadModel(id));
    for (const [i, row] of rows.entries()) {
      if (done.has(row.promptId)) continue;
      if (run.signal.aborted) throw new TrainingError('aborted', `generation aborted after ${i} prompts`);
      const answers: NewAnswer[] = [];
      models.forEach((m, mi) => {
        const n = Array.from({ length: K }, (_, k) => (k + i) % models.length).filter((x) => x === mi).length;
        if (n === 0) return;
        const sampling = { temperature: hp.temperature, topK: hp.topK, topP: hp.topP, maxTokens: hp.maxTokens, seed: hp.seed + i * 1009 + mi };
        // chat.ts renders the dialogue (a plain prompt: one user turn) in the model's chat format; a
        // base that never saw a chat turn (an imported one nobody fine-tuned yet) continues the
        // turns as plain text instead.
        const ids = renderPrompt(m.tokenizer, promptTurns(row.prompt));
        const samples = generate(m.model, ids, { ...sampling, n, stop: chatStopIds(m.tokenizer) });
        for (const s of samples) answers.push({ text: cleanAnswer(answerText(m.tokenizer, s.tokens)), modelId: m.row.id, sampling });
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
    for (const m of models) m.model.dispose();
  }
  await run.log(`created comparisons for ${rows.length} prompts, ${K} answers each`, 'info', 'generated', { prompts: rows.length, answers: K });
  return {};
}

/** Sampled bytes may include control characters (Postgres text cannot hold NUL); raters need none of them. */
function cleanAnswer(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
}
