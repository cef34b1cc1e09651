// Dataset export as JSONL rows, read from the database in batches so a large project streams
// in constant memory. The same row generators can feed a training job's dataset snapshot.
import { rankingToPairs, type PreferenceRow, type SftMessagesRow, type SftPromptCompletionRow } from '@jielong/shared';
import type { Db } from '../db.ts';
import { comparisonIsData, projectExclusions, rankingIsData } from './exclusions.ts';

const BATCH = 500;

/** SFT rows from accepted demonstrations, oldest first. */
export async function* sftRows(db: Db, projectId: string, format: 'prompt-completion' | 'messages'): AsyncGenerator<SftPromptCompletionRow | SftMessagesRow> {
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.demonstration.findMany({
      where: { projectId, status: 'accepted' },
      include: { prompt: { select: { text: true } } },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const d of batch) {
      yield format === 'messages'
        ? { messages: [{ role: 'user', content: d.prompt.text }, { role: 'assistant', content: d.answer }] }
        : { prompt: d.prompt.text, completion: d.answer };
    }
    if (batch.length < BATCH) return;
    cursor = batch[batch.length - 1].id;
  }
}

/** Preference pairs: every (better, worse) pair of every ranking that is data (ties yield none). */
export async function* preferenceRows(db: Db, projectId: string): AsyncGenerator<PreferenceRow> {
  const ranked = rankingIsData(await projectExclusions(db, projectId));
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.comparison.findMany({
      where: { projectId, ...comparisonIsData, rankings: { some: ranked } },
      include: {
        prompt: { select: { text: true } },
        answers: { select: { id: true, text: true } },
        rankings: { where: ranked, select: { order: true }, orderBy: { createdAt: 'asc' } },
      },
      orderBy: { id: 'asc' },
      take: BATCH,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    for (const c of batch) {
      const text = new Map(c.answers.map((a) => [a.id, a.text]));
      for (const r of c.rankings) {
        for (const { better, worse } of rankingToPairs(r.order as string[][])) {
          const chosen = text.get(better);
          const rejected = text.get(worse);
          if (chosen !== undefined && rejected !== undefined) yield { prompt: c.prompt.text, chosen, rejected };
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
