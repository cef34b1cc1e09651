// Dataset export as JSONL rows, read from the database in batches so a large project streams
// in constant memory. Rows are in TRL's formats: standard (strings; a dialogue as its hh-rlhf text)
// or conversational (turns, every row alike), see packages/shared/src/api/datasets.ts.
import { turnsOfPrompt, rankingToPairs, type PreferenceRow, type RatingsRow, type SftMessagesRow, type SftPromptCompletionRow, type UnpairedExportRow } from '@jielong/shared';
import { unpairedExamples } from './unpaired-examples.ts';
import type { Db } from '../db.ts';

const BATCH = 500;

/** SFT rows from accepted demonstrations, oldest first. */
export async function* sftRows(db: Db, projectId: string, format: 'prompt-completion' | 'conversational' | 'messages'): AsyncGenerator<SftPromptCompletionRow | SftMessagesRow> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.demonstration.findMany({
      where: { projectId, status: 'accepted' },
      include: { prompt: { select: { text: true, turns: true } } },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const d of batch) {
      const answer = { role: 'assistant' as const, content: d.answer };
      if (format === 'messages') yield { messages: [...turnsOfPrompt(d.prompt), answer] };
      else if (format === 'conversational') yield { prompt: turnsOfPrompt(d.prompt), completion: [answer] };
      else yield { prompt: d.prompt.text, completion: d.answer };
    }
    if (batch.length < BATCH) return;
    cursor = batch[batch.length - 1].id;
  }
}

/** Preference pairs: every (better, worse) pair of every non-skipped ranking (ties yield none). */
export async function* preferenceRows(db: Db, projectId: string, format: 'standard' | 'conversational'): AsyncGenerator<PreferenceRow> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.comparison.findMany({
      where: { projectId, rankings: { some: { skipped: false } } },
      include: {
        prompt: { select: { text: true, turns: true } },
        answers: { select: { id: true, text: true } },
        rankings: { where: { skipped: false }, select: { order: true }, orderBy: { createdAt: 'asc' } },
      },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const c of batch) {
      const text = new Map(c.answers.map((a) => [a.id, a.text]));
      const prompt = format === 'conversational' ? turnsOfPrompt(c.prompt) : c.prompt.text;
      const answer = (content: string) => (format === 'conversational' ? [{ role: 'assistant' as const, content }] : content);
      for (const r of c.rankings) {
        for (const { better, worse } of rankingToPairs(r.order as string[][])) {
          const chosen = text.get(better);
          const rejected = text.get(worse);
          if (chosen !== undefined && rejected !== undefined) yield { prompt, chosen: answer(chosen), rejected: answer(rejected) };
        }
      }
    }
    if (batch.length < BATCH) return;
    cursor = batch[batch.length - 1].id;
  }
}

/** TRL's unpaired rows {"prompt","completion","label"} from the raters' thumbs. */
export async function* unpairedRows(db: Db, projectId: string, format: 'standard' | 'conversational'): AsyncGenerator<UnpairedExportRow> {
  for await (const { prompt, completion, label } of unpairedExamples(db, projectId)) {
    yield format === 'conversational'
      ? { prompt: turnsOfPrompt(prompt), completion: [{ role: 'assistant', content: completion }], label }
      : { prompt: prompt.text, completion, label };
  }
}

/** Each scored answer with, per scale, the mean of its raters' scores and how many scored it. */
export async function* ratingsRows(db: Db, projectId: string): AsyncGenerator<RatingsRow> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.answer.findMany({
      where: { comparison: { projectId }, ratings: { some: { ranking: { skipped: false } } } },
      select: { id: true, text: true, comparison: { select: { prompt: { select: { text: true } } } }, ratings: { where: { ranking: { skipped: false } }, select: { scores: true } } },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const a of batch) {
      const sums: Record<string, { sum: number; count: number }> = {};
      for (const r of a.ratings) {
        for (const [key, value] of Object.entries(r.scores as Record<string, number>)) {
          sums[key] ??= { sum: 0, count: 0 };
          sums[key].sum += value;
          sums[key].count += 1;
        }
      }
      const labels = Object.fromEntries(Object.entries(sums).map(([key, { sum, count }]) => [key, { value: sum / count, count }]));
      // an answer given only thumbs has no scores: it is in the unpaired export instead
      if (Object.keys(labels).length > 0) yield { prompt: a.comparison.prompt.text, completion: a.text, labels };
    }
    if (batch.length < BATCH) return;
    cursor = batch[batch.length - 1].id;
  }
}

/** Objects → JSONL text chunks, a few hundred rows per chunk. */
export async function* toJsonLines(rows: AsyncIterable<unknown>): AsyncGenerator<string> {
  let chunk = '';
  let n = 0;
  for await (const row of rows) {
    chunk += JSON.stringify(row) + '\n';
    if (++n % 200 === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
