// Seeding for the rating benchmarks, straight through pg (set-based INSERT … SELECT: a million rows
// take seconds, where the API would take hours): raters with API tokens, a project, and open
// comparisons of K answers; optionally rankings already given, spread over past days.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface SeedOptions {
  raters: number;
  /** comparisons waiting for rankings */
  open: number;
  /** K: answers per comparison */
  answers: number;
  /** N: rankings that close a comparison */
  rankingsPerComparison: number;
  /** comparisons already closed with N rankings each (the big-project benchmark) */
  complete?: number;
  /** the closed comparisons' rankings are spread over this many past days */
  historyDays?: number;
}

export interface Seeded {
  projectId: string;
  researcher: { id: string; token: string };
  raters: { id: string; token: string }[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const token = () => 'jl_' + randomBytes(24).toString('base64url');

// Text of realistic length: raters read a prompt of a sentence or two and answers of a paragraph.
const PROMPT = 'Explain to a curious twelve-year-old why the sky looks blue at noon but red at sunset, in a few sentences.';
const ANSWER =
  'Sunlight holds every colour. Air molecules scatter short blue waves far more than long red ones, so at noon blue light reaches you from every part of the sky. ' +
  'At sunset the light crosses much more air; the blue is scattered away before it arrives, and the reds and oranges are what is left. 天空在中午是蓝色的。';

async function insertUsers(db: pg.ClientBase, n: number, role: 'rater' | 'researcher', prefix: string) {
  const users = Array.from({ length: n }, (_, i) => ({ id: randomUUID(), token: token(), email: `${prefix}${i}-${randomBytes(3).toString('hex')}@load.local` }));
  if (!n) return users;
  await db.query(
    `INSERT INTO "User"(id, email, "displayName", "passwordHash", roles)
     SELECT id, email, email, 'scrypt$disabled', ARRAY[$3::"Role"] FROM unnest($1::text[], $2::text[]) AS u(id, email)`,
    [users.map((u) => u.id), users.map((u) => u.email), role],
  );
  await db.query(
    `INSERT INTO "ApiToken"(id, "userId", name, prefix, "tokenHash")
     SELECT gen_random_uuid(), u, 'load', left(t, 9), h FROM unnest($1::text[], $2::text[], $3::text[]) AS x(u, t, h)`,
    [users.map((u) => u.id), users.map((u) => u.token), users.map((u) => sha256(u.token))],
  );
  return users.map(({ id, token }) => ({ id, token }));
}

/** Adds `count` comparisons (prompt, K answers) created `ageDays`-spread in the past, oldest first. */
async function insertComparisons(db: pg.ClientBase, projectId: string, count: number, o: SeedOptions, status: 'open' | 'complete', from: number) {
  if (!count) return;
  const days = status === 'complete' ? (o.historyDays ?? 365) : 0;
  // created in order, 1 ms apart (so the queue's order is the seed order), the closed ones over past days
  await db.query(
    `WITH p AS (
       INSERT INTO "Prompt"(id, "projectId", text, "textHash", source, "createdAt")
       SELECT gen_random_uuid(), $1, $2 || ' #' || i, md5($1 || i), 'imported',
              now() - make_interval(secs => $6::float8 * 86400 * ($3 - i) / $3) - make_interval(secs => ($3 - i) / 1000.0)
       FROM generate_series($4::int, $4::int + $3::int - 1) i
       RETURNING id, "createdAt")
     INSERT INTO "Comparison"(id, "projectId", "promptId", "requiredRankings", status, "createdAt", "comparedPairs", "agreedPairs")
     SELECT gen_random_uuid(), $1, p.id, $5, $7::"ComparisonStatus", p."createdAt", $8::int, $8::int FROM p`,
    // the closed ones' agreement is not computed here (null), as on comparisons ranked before it was kept
    [projectId, PROMPT, count, from, o.rankingsPerComparison, days, status, status === 'complete' ? null : 0],
  );
}

export async function seedRatingProject(db: pg.ClientBase, o: SeedOptions): Promise<Seeded> {
  const [researcher] = await insertUsers(db, 1, 'researcher', 'researcher');
  const raters = await insertUsers(db, o.raters, 'rater', 'rater');
  const projectId = randomUUID();
  await db.query(
    `INSERT INTO "Project"(id, name, "ratersPerComparison", "answersPerComparison", "createdById", "updatedAt") VALUES ($1, 'load', $2, $3, $4, now())`,
    [projectId, o.rankingsPerComparison, o.answers, researcher.id],
  );
  await db.query(`INSERT INTO "ProjectMember"("projectId", "userId", roles) VALUES ($1, $2, ARRAY['researcher'::"Role"])`, [projectId, researcher.id]);
  await db.query(`INSERT INTO "ProjectMember"("projectId", "userId", roles) SELECT $1, u, ARRAY['rater'::"Role"] FROM unnest($2::text[]) u`, [
    projectId,
    raters.map((r) => r.id),
  ]);
  const complete = o.complete ?? 0;
  await insertComparisons(db, projectId, complete, o, 'complete', 0);
  await insertComparisons(db, projectId, o.open, o, 'open', complete);
  await db.query(
    `INSERT INTO "Answer"(id, "comparisonId", position, text)
     SELECT gen_random_uuid(), c.id, k, 'Answer ' || (k + 1) || ': ' || $2 FROM "Comparison" c, generate_series(0, $3::int - 1) k WHERE c."projectId" = $1`,
    [projectId, ANSWER, o.answers],
  );
  if (complete) await insertRankings(db, projectId, raters.map((r) => r.id), o);
  // as autovacuum leaves a project in progress: dead versions of the seed's own updates gone, statistics fresh
  await db.query('VACUUM ANALYZE');
  return { projectId, researcher, raters };
}

/**
 * N rankings (and their completed assignments) on every closed comparison, by N different raters,
 * at the comparison's time plus a little: three kinds of order (strict, with a tie, reversed) so
 * exports yield 6, 5 and 6 pairs with K = 4 and agreement is neither 0 nor 1.
 */
async function insertRankings(db: pg.ClientBase, projectId: string, raterIds: string[], o: SeedOptions) {
  await db.query(
    `WITH c AS (
       SELECT c.id, c."createdAt", row_number() OVER (ORDER BY c."createdAt") AS i,
              array_agg(a.id ORDER BY a.position) AS ans
       FROM "Comparison" c JOIN "Answer" a ON a."comparisonId" = c.id
       WHERE c."projectId" = $1 AND c.status = 'complete' GROUP BY c.id),
     r AS (
       SELECT c.id AS "comparisonId", ($2::text[])[((c.i * $3 + j) % cardinality($2::text[])) + 1] AS "raterId",
              c."createdAt" + make_interval(mins => j + 1) AS at, j, c.ans
       FROM c, generate_series(0, $3::int - 1) j),
     ins AS (
       INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", "timeSpentMs", "createdAt")
       SELECT gen_random_uuid(), "comparisonId", "raterId",
              CASE
                WHEN j % 3 = 0 OR cardinality(ans) < 3 THEN (SELECT jsonb_agg(jsonb_build_array(x) ORDER BY n) FROM unnest(ans) WITH ORDINALITY AS u(x, n))
                WHEN j % 3 = 1 THEN jsonb_build_array(jsonb_build_array(ans[2]), jsonb_build_array(ans[1], ans[3])) ||
                            (SELECT coalesce(jsonb_agg(jsonb_build_array(x) ORDER BY n), '[]') FROM unnest(ans[4:]) WITH ORDINALITY AS u(x, n))
                ELSE (SELECT jsonb_agg(jsonb_build_array(x) ORDER BY n DESC) FROM unnest(ans) WITH ORDINALITY AS u(x, n))
              END,
              20000, at
       FROM r RETURNING 1)
     INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt", "completedAt")
     SELECT "comparisonId", "raterId", at, at, at FROM r`,
    [projectId, raterIds, o.rankingsPerComparison],
  );
}
