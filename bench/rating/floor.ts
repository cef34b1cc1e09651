// The anchor of bench/load-raters.ts: a rater's hand-out and submit as the fewest statements that
// do the same reads and writes as the API, straight through pg: no HTTP, no ORM, no Fastify. Who
// the token is and their role (one statement the first time, then kept, as the API keeps them),
// then the hand-out function (the rater's lock, the held or next comparison under its row lock,
// the assignment, the task, the remaining count); or the submit function (the key, the checks under
// the comparison's lock, the ranking, its agreement with the others, the assignment, closing at N,
// the stored response), its order checked against the answers the hand-out gave. Both
// functions are the API's own (migration 20261201160500_rating_statements): what the floor
// measures is the database's share, and the ratio to it the API's own overhead.
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { RATING_REMAINING_CAP } from '@jielong/shared';
import type { HandOut, RaterClient, RankingBody, Submitted } from './client.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function floorClient(url: string, poolSize: number, projectId: string, ttlMs: number): RaterClient & { close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // prepared once per connection, as the API's client prepares its statements (packages/db)
  const names = new Map<string, string>();
  // an error the statement raised keeps the connection (pool.query would close it)
  const run = async (text: string, values: unknown[] = []) => {
    if (!names.has(text)) names.set(text, `floor${names.size}`);
    const c = await pool.connect();
    try {
      const result = await c.query({ name: names.get(text), text, values });
      c.release();
      return result;
    } catch (err) {
      c.release((err as { code?: string }).code === 'JL001' ? undefined : (err as Error));
      throw err;
    }
  };

  const raters = new Map<string, string>();
  /** the comparison's answer ids, as its hand-out gave them */
  const answersOf = new Map<string, string[]>();

  async function raterOf(token: string, projectId: string): Promise<string> {
    const known = raters.get(token);
    if (known) return known;
    const { rows } = await run(`SELECT u.id FROM "ApiToken" t JOIN "User" u ON u.id = t."userId"
       JOIN "ProjectMember" m ON m."userId" = u.id AND m."projectId" = $2 AND 'rater' = ANY(m.roles)
       WHERE t."tokenHash" = $1 AND t."revokedAt" IS NULL`,
      [sha256(token), projectId],
    );
    if (!rows[0]) throw new Error('floor: token not a rater of the project');
    raters.set(token, rows[0].id);
    return rows[0].id;
  }

  return {
    async handOut(token) {
      const raterId = await raterOf(token, projectId);
      for (;;) {
        const { rows } = await run('SELECT "jielong_hand_out"($1, $2, $3, false, $4) AS handed', [projectId, raterId, ttlMs, RATING_REMAINING_CAP]);
        const handed = rows[0].handed;
        if (handed.retry) continue;
        if (!handed.task) return { task: null, remaining: 0 } satisfies HandOut;
        answersOf.set(handed.task.id, handed.task.answers.map((a: { id: string }) => a.id));
        return { task: { comparisonId: handed.task.id, answers: handed.task.answers }, remaining: Math.min(handed.remaining, RATING_REMAINING_CAP) };
      }
    },

    async submit(token, comparisonId, body: RankingBody, key): Promise<Submitted> {
      const raterId = await raterOf(token, projectId);
      const scope = `POST /v1/comparisons/${comparisonId}/rankings`;
      const hash = sha256(JSON.stringify(body));
      const order = body.skipped ? [] : body.order!;
      const id = randomUUID();
      const createdAt = new Date();
      const ids = new Set(answersOf.get(comparisonId));
      if (!body.skipped && (order.flat().length !== ids.size || !order.flat().every((a) => ids.has(a)))) throw new Error('floor: bad order');
      const response = { ranking: { id, comparisonId, order, skipped: body.skipped, createdAt: createdAt.toISOString() }, comparisonStatus: 'open' };
      const { rows } = await run(
        'SELECT "jielong_submit_ranking"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) AS result',
        [comparisonId, raterId, id, JSON.stringify(order), '{}', false, null, body.timeSpentMs, body.skipped, body.skipReason ?? null,
          createdAt.toISOString().replace('Z', ''), '[]', key, scope, hash, JSON.stringify(response)],
      );
      const result = rows[0].result;
      if (result.outcome === 'replayed') return { status: result.statusCode, rankingId: result.body.ranking.id, replayed: true };
      if (result.outcome !== 'stored') return { status: 409 };
      return { status: 201, rankingId: id, replayed: false };
    },

    close: () => pool.end(),
  };
}
