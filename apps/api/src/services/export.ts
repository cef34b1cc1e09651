// Dataset export as JSONL rows, read from the database in batches so a large project streams
// in constant memory. Rows are in TRL's formats: standard (strings; a dialogue as its hh-rlhf text)
// or conversational (turns, every row alike), see packages/shared/src/api/datasets.ts.
import { turnsOfPrompt, rankingToPairs, type PreferenceRow, type SftMessagesRow, type SftPromptCompletionRow } from '@jielong/shared';
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
