// The anchor of bench/load-raters.ts: a rater's hand-out and submit as the fewest statements that
// do the same reads and writes as the API (who the token is and their role, the rater's lock, the
// held or next comparison under its row lock, the assignment, the task's text, the remaining count;
// the Idempotency-Key claim, the checks under the comparison's lock, the ranking, the assignment,
// closing at N, the stored response), straight through pg: no HTTP, no ORM. The API's rankings/s
// are reported as a ratio of this floor.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { RATING_REMAINING_CAP } from '@jielong/shared';
import type { HandOut, RaterClient, RankingBody, Submitted } from './client.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function floorClient(url: string, poolSize: number, projectId: string, ttlMs: number): RaterClient & { close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // prepared once per connection, as the API's client prepares its statements (packages/db)
  const names = new Map<string, string>();
  const run = (c: pg.Pool | pg.PoolClient, text: string, values: unknown[] = []) => {
    if (!names.has(text)) names.set(text, `floor${names.size}`);
    return c.query({ name: names.get(text), text, values });
  };

  async function inTx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK');
      throw err;
    } finally {
      c.release();
    }
  }

  async function raterOf(token: string, projectId: string): Promise<string> {
    const { rows } = await run(pool, 
      `SELECT u.id FROM "ApiToken" t JOIN "User" u ON u.id = t."userId"
       JOIN "ProjectMember" m ON m."userId" = u.id AND m."projectId" = $2 AND 'rater' = ANY(m.roles)
       WHERE t."tokenHash" = $1 AND t."revokedAt" IS NULL`,
      [sha256(token), projectId],
    );
    if (!rows[0]) throw new Error('floor: token not a rater of the project');
    return rows[0].id;
  }

  const taskSql = `SELECT c.id, p.text, p.language, (SELECT json_agg(json_build_object('id', a.id, 'text', a.text) ORDER BY a.position) FROM "Answer" a WHERE a."comparisonId" = c.id) AS answers
    FROM "Comparison" c JOIN "Prompt" p ON p.id = c."promptId" WHERE c.id = $1`;

  return {
    async handOut(token) {
      const raterId = await raterOf(token, projectId);
      const task = await inTx(async (c) => {
        await run(c, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, ['rating:' + raterId]);
        const held = await run(c, 
          `SELECT a."comparisonId" FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId"
           WHERE a."raterId" = $1 AND a."completedAt" IS NULL AND a."expiresAt" > now() AND c."projectId" = $2 AND c.status = 'open'
             AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = $1)
           ORDER BY a."assignedAt" LIMIT 1`,
          [raterId, projectId],
        );
        let id: string | undefined = held.rows[0]?.comparisonId;
        for (let attempt = 0; !id && attempt < 20; attempt++) {
          const lock = attempt === 0 ? 'FOR UPDATE OF c SKIP LOCKED' : 'FOR UPDATE OF c';
          const candidate = await run(c, 
            `SELECT c.id FROM "Comparison" c
             WHERE c."projectId" = $1 AND c.status = 'open'
               AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = $2)
               AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
                 + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."completedAt" IS NULL AND a."expiresAt" > now())
                 < c."requiredRankings"
             ORDER BY c."createdAt", c.id LIMIT 1 ${lock}`,
            [projectId, raterId],
          );
          if (!candidate.rows[0]) break;
          // counted again by a fresh statement under the lock, and taken in the same statement
          const taken = await run(c, 
            `INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt")
             SELECT c.id, $2, now(), now() + make_interval(secs => $3::float8 / 1000) FROM "Comparison" c
             WHERE c.id = $1 AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
               + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> $2 AND a."completedAt" IS NULL AND a."expiresAt" > now())
               < c."requiredRankings"
             ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "assignedAt" = excluded."assignedAt", "expiresAt" = excluded."expiresAt", "completedAt" = NULL
             RETURNING "comparisonId"`,
            [candidate.rows[0].id, raterId, ttlMs],
          );
          id = taken.rows[0]?.comparisonId;
        }
        if (!id) return null;
        const { rows } = await run(c, taskSql, [id]);
        return { comparisonId: rows[0].id as string, answers: rows[0].answers as { id: string; text: string }[] };
      });
      if (!task) return { task: null, remaining: 0 } satisfies HandOut;
      const { rows } = await run(pool, 
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM "Comparison" c
           WHERE c."projectId" = $1 AND c.status = 'open'
             AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = $2)
             AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
               + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> $2 AND a."completedAt" IS NULL AND a."expiresAt" > now())
               < c."requiredRankings"
           ORDER BY c."createdAt" LIMIT ${RATING_REMAINING_CAP + 1}) s`,
        [projectId, raterId],
      );
      return { task, remaining: Math.min(rows[0].n, RATING_REMAINING_CAP) };
    },

    async submit(token, comparisonId, body: RankingBody, key): Promise<Submitted> {
      const raterId = await raterOf(token, projectId);
      const scope = `POST /v1/comparisons/${comparisonId}/rankings`;
      const hash = sha256(JSON.stringify(body));
      return inTx(async (c) => {
        const claim = await run(c, 
          `INSERT INTO "IdempotencyKey"("userId", key, scope, "requestHash", "statusCode", "responseBody") VALUES ($1, $2, $3, $4, 0, '{}')
           ON CONFLICT DO NOTHING RETURNING 1`,
          [raterId, key, scope, hash],
        );
        if (!claim.rowCount) {
          const stored = await run(c, `SELECT "statusCode", "responseBody" FROM "IdempotencyKey" WHERE "userId" = $1 AND key = $2`, [raterId, key]);
          const s = stored.rows[0];
          if (!s || s.statusCode === 0) return { status: 409 };
          return { status: s.statusCode, rankingId: s.responseBody.ranking.id, replayed: true };
        }
        // the lock first: a statement's snapshot is taken before it waits, so the counts that
        // decide come from the next statement, which sees every transaction that held the lock
        const locked = await run(c, `SELECT status::text FROM "Comparison" WHERE id = $1 FOR UPDATE`, [comparisonId]);
        const { rows } = await run(c, 
          `SELECT (SELECT array_agg(a.id) FROM "Answer" a WHERE a."comparisonId" = $1) AS answers,
             EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = $1 AND r."raterId" = $2) AS ranked,
             EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = $1 AND a."raterId" = $2 AND a."completedAt" IS NULL AND a."expiresAt" > now()) AS holds`,
          [comparisonId, raterId],
        );
        const cmp = rows[0];
        const ids = new Set<string>(cmp.answers);
        if (!body.skipped && (body.order!.flat().length !== ids.size || !body.order!.flat().every((id) => ids.has(id)))) throw new Error('floor: bad order');
        if (cmp.ranked) throw new Error('floor: already ranked');
        if (!body.skipped && !cmp.holds) throw new Error('floor: no slot held');
        const ins = await run(c, 
          `WITH r AS (
             INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", flags, "allBad", comment, "timeSpentMs", skipped, "skipReason")
             VALUES (gen_random_uuid(), $1, $2, $3, '{}', false, NULL, $4, $5, $6) RETURNING *),
           a AS (UPDATE "Assignment" SET "completedAt" = now() WHERE "comparisonId" = $1 AND "raterId" = $2),
           c AS (UPDATE "Comparison" c SET status = 'complete' WHERE id = $1 AND NOT $5 AND status = 'open'
                   AND (SELECT count(*) FROM "Ranking" x WHERE x."comparisonId" = $1 AND NOT x.skipped) + 1 >= c."requiredRankings" RETURNING 1)
           SELECT r.*, u."displayName", EXISTS (SELECT 1 FROM c) AS closes FROM r JOIN "User" u ON u.id = r."raterId"`,
          [comparisonId, raterId, JSON.stringify(body.skipped ? [] : body.order), body.timeSpentMs, body.skipped, body.skipReason ?? null],
        );
        const ranking = ins.rows[0];
        const response = { ranking: { id: ranking.id, comparisonId, order: ranking.order, skipped: ranking.skipped, createdAt: ranking.createdAt }, comparisonStatus: ranking.closes ? 'complete' : locked.rows[0].status };
        await run(c, `UPDATE "IdempotencyKey" SET "statusCode" = 201, "responseBody" = $3 WHERE "userId" = $1 AND key = $2`, [raterId, key, JSON.stringify(response)]);
        return { status: 201, rankingId: ranking.id as string, replayed: false };
      });
    },

    close: () => pool.end(),
  };
}
