// What must hold after a load run, asked of the database itself (not of what the API answered).
import type pg from 'pg';
import { pairwiseAgreement } from '@jielong/shared';

export interface Ack {
  rankingId: string;
  comparisonId: string;
  raterId: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RunRecord {
  projectId: string;
  /** when the raters started: rankings seeded before (a project's history) are not the run's */
  since: Date;
  /** every 201 a first submission got */
  acks: Ack[];
  /** retries with the same Idempotency-Key: how many, and how many were answered with another ranking than the first */
  retries: number;
  retriesWrong: number;
  /** a rater handed a comparison they had already ranked or skipped */
  handedTwice: number;
  /** unexpected answers (5xx, or a 4xx the simulated rater did nothing to deserve) */
  errors: string[];
}

export async function checkRun(db: pg.ClientBase, run: RunRecord): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  const over = await db.query(
    `SELECT c.id, c."requiredRankings" AS n,
       (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)::int AS ranked,
       (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."completedAt" IS NULL AND a."expiresAt" > now())::int AS held
     FROM "Comparison" c WHERE c."projectId" = $1`,
    [run.projectId],
  );
  const overAssigned = over.rows.filter((r) => r.ranked + r.held > r.n);
  add('no over-assignment', overAssigned.length === 0, `${overAssigned.length} of ${over.rowCount} comparisons hold more than N rankings + live assignments`);
  const closedWrong = await db.query(
    `SELECT count(*)::int AS n FROM "Comparison" c WHERE c."projectId" = $1
       AND (c.status = 'complete') <> ((SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped) >= c."requiredRankings")`,
    [run.projectId],
  );
  add('closed exactly at N', closedWrong.rows[0].n === 0, `${closedWrong.rows[0].n} comparisons complete without N rankings, or open with them`);

  // the agreement each submission added under the comparison's lock, against the definition over all its rankings
  const ranked = await db.query(
    `SELECT c.id, c."comparedPairs" AS compared, c."agreedPairs" AS agreed,
       coalesce((SELECT json_agg(r."order") FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped), '[]') AS orders
     FROM "Comparison" c WHERE c."projectId" = $1 AND EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."createdAt" >= $2)`,
    [run.projectId, run.since],
  );
  const agreementWrong = ranked.rows.filter((c) => {
    const exact = pairwiseAgreement(c.orders);
    return c.compared !== exact.comparedPairs || c.agreed !== exact.agreedPairs;
  });
  add('agreement exact', agreementWrong.length === 0, `${agreementWrong.length} of ${ranked.rowCount} comparisons ranked in the run keep another agreement than their rankings' (or none)`);

  const twice = await db.query(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM "Ranking" r JOIN "Comparison" c ON c.id = r."comparisonId"
       WHERE c."projectId" = $1 GROUP BY r."comparisonId", r."raterId" HAVING count(*) > 1) d`,
    [run.projectId],
  );
  add('no rater twice on a comparison', twice.rows[0].n === 0 && run.handedTwice === 0, `${twice.rows[0].n} doubled rankings; ${run.handedTwice} hand-outs of a comparison the rater had already done`);

  const stored = await db.query(
    `SELECT r.id, r."comparisonId", r."raterId" FROM "Ranking" r JOIN "Comparison" c ON c.id = r."comparisonId" WHERE c."projectId" = $1 AND r."createdAt" >= $2`,
    [run.projectId, run.since],
  );
  const byId = new Map(stored.rows.map((r) => [r.id as string, r]));
  const acked = new Set(run.acks.map((a) => a.rankingId));
  const lost = run.acks.filter((a) => {
    const s = byId.get(a.rankingId);
    return !s || s.comparisonId !== a.comparisonId || s.raterId !== a.raterId;
  });
  const unacked = stored.rows.filter((r) => !acked.has(r.id));
  add('acknowledged = stored', lost.length === 0 && unacked.length === 0 && acked.size === run.acks.length, `${run.acks.length} acknowledged, ${stored.rowCount} stored; ${lost.length} acknowledged but not stored, ${unacked.length} stored but never acknowledged`);
  add('retries not duplicated', run.retriesWrong === 0 && stored.rowCount === acked.size, `${run.retries} retries, ${run.retriesWrong} answered with another ranking than the first`);
  add('no unexpected errors', run.errors.length === 0, run.errors.length ? `${run.errors.length}: ${[...new Set(run.errors)].slice(0, 5).join('; ')}` : 'none');
  return checks;
}
