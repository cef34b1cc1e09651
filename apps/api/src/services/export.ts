// Dataset export as JSONL rows, read from the database in batches so a large project streams
// in constant memory. The same row generators can feed a training job's dataset snapshot.
import { rankingToPairs, type SftMessagesRow, type SftPromptCompletionRow } from '@jielong/shared';
import { Prisma, type Db } from '../db.ts';

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

const COMPARISON_BATCH = 500;
/** a chunk is sent once it holds this many characters */
const CHUNK_CHARS = 1 << 20;

interface PreferenceSource {
  id: string;
  prompt: string;
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
function preferenceBatch(db: Db, projectId: string, after: Cursor): Promise<(PreferenceSource & { createdAt: Date })[]> {
  const past = after ? Prisma.sql`AND (c."createdAt", c.id) > (${after.createdAt}, ${after.id})` : Prisma.empty;
  return db.$queryRaw<(PreferenceSource & { createdAt: Date })[]>`
    SELECT c.id, c."createdAt", p.text AS prompt,
      (SELECT json_object_agg(a.id, a.text) FROM "Answer" a WHERE a."comparisonId" = c.id) AS answers,
      r.orders
    FROM "Comparison" c
    JOIN "Prompt" p ON p.id = c."promptId"
    CROSS JOIN LATERAL (SELECT json_agg(r."order" ORDER BY r."createdAt") AS orders FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped) r
    WHERE c."projectId" = ${projectId} ${past} AND r.orders IS NOT NULL
    ORDER BY c."createdAt", c.id
    LIMIT ${COMPARISON_BATCH}`;
}

/**
 * Preference pairs as JSONL chunks of about a megabyte: every (better, worse) pair
 * of every non-skipped ranking (ties yield none), each line {"prompt","chosen","rejected"}. The
 * next batch is read while this one is written out. Each text is JSON-escaped once per comparison,
 * not once per pair: a line is JSON.stringify({ prompt, chosen, rejected }) put together from them.
 */
export async function* preferenceJsonLines(db: Db, projectId: string): AsyncGenerator<string> {
  let next = preferenceBatch(db, projectId, null);
  for (;;) {
    const batch = await next;
    if (batch.length === COMPARISON_BATCH) next = preferenceBatch(db, projectId, batch[batch.length - 1]);
    let chunk = '';
    for (const c of batch) {
      const prompt = `{"prompt":${JSON.stringify(c.prompt)},"chosen":`;
      const text = new Map(Object.entries(c.answers ?? {}).map(([id, t]) => [id, JSON.stringify(t)]));
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
