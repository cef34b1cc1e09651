// Dataset export as JSONL rows, read from the database in batches so a large project streams
// in constant memory. Rows are in TRL's formats: standard (strings; a dialogue as its hh-rlhf text)
// or conversational (turns, every row alike), see packages/shared/src/api/datasets.ts.
import { turnsOfPrompt, rankingToPairs, type RatingsRow, type SftMessagesRow, type SftPromptCompletionRow, type UnpairedExportRow } from '@jielong/shared';
import { unpairedExamples } from './unpaired-examples.ts';
import { Prisma, type Db } from '../db.ts';
import { comparisonIsData, projectExclusions, rankingIsData, rankingIsDataSql } from './exclusions.ts';

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

const COMPARISON_BATCH = 500;
/** a chunk is sent once it holds this many characters */
const CHUNK_CHARS = 1 << 20;

interface PreferenceSource {
  id: string;
  prompt: string;
  /** a dialogue's turns (null: a plain prompt) */
  turns: unknown;
  /** answer id → text */
  answers: Record<string, string>;
  /** the non-skipped rankings' orders, oldest first */
  orders: string[][][];
}

type Cursor = { createdAt: Date; id: string } | null;

/**
 * One batch of ranked comparisons after `after`, in the order they were made (rows written together
 * lie together on disk; by id the reads were random), each with everything its pairs need, in one query.
 */
function preferenceBatch(db: Db, projectId: string, after: Cursor, isData: Prisma.Sql): Promise<(PreferenceSource & { createdAt: Date })[]> {
  const past = after ? Prisma.sql`AND (c."createdAt", c.id) > (${after.createdAt}, ${after.id})` : Prisma.empty;
  return db.$queryRaw<(PreferenceSource & { createdAt: Date })[]>`
    SELECT c.id, c."createdAt", p.text AS prompt, p.turns,
      (SELECT json_object_agg(a.id, a.text) FROM "Answer" a WHERE a."comparisonId" = c.id) AS answers,
      r.orders
    FROM "Comparison" c
    JOIN "Prompt" p ON p.id = c."promptId"
    CROSS JOIN LATERAL (SELECT json_agg(r."order" ORDER BY r."createdAt") AS orders FROM "Ranking" r WHERE r."comparisonId" = c.id AND ${isData}) r
    WHERE c."projectId" = ${projectId} AND c.status <> 'gold' ${past} AND r.orders IS NOT NULL
    ORDER BY c."createdAt", c.id
    LIMIT ${COMPARISON_BATCH}`;
}

/**
 * Preference pairs as JSONL chunks of about a megabyte: every (better, worse) pair
 * of every non-skipped ranking (ties yield none), each line {"prompt","chosen","rejected"}. The
 * next batch is read while this one is written out. Each text is JSON-escaped once per comparison,
 * not once per pair: a line is JSON.stringify({ prompt, chosen, rejected }) put together from them.
 * standard: strings; conversational: the prompt as turns, each answer a one-turn assistant list.
 */
export async function* preferenceJsonLines(db: Db, projectId: string, format: 'standard' | 'conversational'): AsyncGenerator<string> {
  const answer = (content: string) => JSON.stringify(format === 'conversational' ? [{ role: 'assistant', content }] : content);
  const isData = rankingIsDataSql(await projectExclusions(db, projectId));
  let next = preferenceBatch(db, projectId, null, isData);
  for (;;) {
    const batch = await next;
    if (batch.length === COMPARISON_BATCH) next = preferenceBatch(db, projectId, batch[batch.length - 1], isData);
    let chunk = '';
    for (const c of batch) {
      const prompt = `{"prompt":${JSON.stringify(format === 'conversational' ? turnsOfPrompt({ text: c.prompt, turns: c.turns }) : c.prompt)},"chosen":`;
      const text = new Map(Object.entries(c.answers ?? {}).map(([id, t]) => [id, answer(t)]));
      for (const order of c.orders) {
        for (const { better, worse } of rankingToPairs(order)) {
          const chosen = text.get(better);
          const rejected = text.get(worse);
          if (chosen !== undefined && rejected !== undefined) chunk += `${prompt}${chosen},"rejected":${rejected}}\n`;
        }
      }
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
    if (batch.length < COMPARISON_BATCH) return;
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
  const ranking = rankingIsData(await projectExclusions(db, projectId));
  let cursor: string | undefined;
  for (;;) {
    const batch = await db.answer.findMany({
      where: { comparison: { projectId, ...comparisonIsData }, ratings: { some: { ranking } } },
      select: { id: true, text: true, comparison: { select: { prompt: { select: { text: true } } } }, ratings: { where: { ranking }, select: { scores: true } } },
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
