// What a hand-out's walk along the queue reads instead of other tables (migration
// 20261201160000_comparison_holds): each comparison's rankingCount, skipCount and doneBy, kept by
// the trigger on "Ranking", and its liveHolds/holdsExpireAt, kept by the trigger on "Assignment";
// a submission (jielong_submit_ranking) counts its own ranking and assignment in its one update
// instead (migration 20261202050000_submit_in_one_update). Any writer may change those tables, so
// random sequences of writes, submissions among them, are checked against counts made from the
// rows themselves, and every change to a comparison's rankings must name it to the dashboard
// ("DashboardChange"); and a hold that expires with time alone frees its slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { migratedClient } from '../helpers/db.ts';

const migrated = (t: test.TestContext) => migratedClient(t, 'dbtest_counts');

/** A project with `comparisons` comparisons of 2 answers (N = `required`) and `raters` raters. */
async function seed(db: pg.Client, comparisons: number, raters: number, required: number) {
  const userIds = Array.from({ length: raters }, () => randomUUID());
  for (const id of userIds) await db.query(`INSERT INTO "User"(id, email, "displayName", "passwordHash", roles) VALUES ($1, $1 || '@t', 'r', 'x', '{}')`, [id]);
  const projectId = randomUUID();
  await db.query(`INSERT INTO "Project"(id, name, "updatedAt") VALUES ($1, 'counts', now())`, [projectId]);
  for (const id of userIds) await db.query(`INSERT INTO "ProjectMember"("projectId", "userId", roles) VALUES ($1, $2, '{rater}')`, [projectId, id]);
  const comparisonIds: string[] = [];
  for (let i = 0; i < comparisons; i++) {
    const promptId = randomUUID();
    const id = randomUUID();
    await db.query(`INSERT INTO "Prompt"(id, "projectId", text, "textHash", source) VALUES ($1, $2, 'p', $1, 'imported')`, [promptId, projectId]);
    await db.query(`INSERT INTO "Comparison"(id, "projectId", "promptId", "requiredRankings", "createdAt") VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`, [id, projectId, promptId, required, i]);
    for (const k of [0, 1]) await db.query(`INSERT INTO "Answer"(id, "comparisonId", position, text) VALUES ($1, $2, $3, 'a')`, [randomUUID(), id, k]);
    comparisonIds.push(id);
  }
  return { projectId, userIds, comparisonIds };
}

/** Comparisons whose kept values differ from the rows' (no hold here expires with time). */
async function drifted(db: pg.Client): Promise<unknown[]> {
  const { rows } = await db.query(`
    SELECT c.id, c."rankingCount", c."skipCount", c."doneBy", c."liveHolds", c."holdsExpireAt", r.ranked, r.skipped, r.raters, a.live, a.first
    FROM "Comparison" c
    CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE NOT skipped)::int AS ranked, count(*) FILTER (WHERE skipped)::int AS skipped,
                          coalesce(array_agg("raterId" ORDER BY "raterId"), '{}') AS raters FROM "Ranking" WHERE "comparisonId" = c.id) r
    CROSS JOIN LATERAL (SELECT count(*)::int AS live, min("expiresAt") AS first FROM "Assignment"
                          WHERE "comparisonId" = c.id AND "completedAt" IS NULL AND "expiresAt" > now()) a
    WHERE c."rankingCount" <> r.ranked OR c."skipCount" <> r.skipped
      OR (SELECT coalesce(array_agg(x ORDER BY x), '{}') FROM unnest(c."doneBy") x) <> r.raters
      OR c."liveHolds" <> a.live OR c."holdsExpireAt" IS DISTINCT FROM a.first`);
  return rows;
}

test('kept counts equal the rows after any sequence of writes to rankings and assignments', async (t) => {
  const db = await migrated(t);
  const { userIds, comparisonIds } = await seed(db, 3, 4, 2);
  const pick = <T>(xs: T[]) => fc.nat({ max: xs.length - 1 }).map((i) => xs[i]);
  const op = fc.oneof(
    fc.record({ kind: fc.constant('rank' as const), c: pick(comparisonIds), r: pick(userIds), skipped: fc.boolean() }),
    fc.record({ kind: fc.constant('unrank' as const), c: pick(comparisonIds), r: pick(userIds) }),
    fc.record({ kind: fc.constant('flip' as const), c: pick(comparisonIds), r: pick(userIds) }),
    fc.record({ kind: fc.constant('hold' as const), c: pick(comparisonIds), r: pick(userIds), past: fc.boolean() }),
    fc.record({ kind: fc.constant('complete' as const), c: pick(comparisonIds), r: pick(userIds) }),
    fc.record({ kind: fc.constant('release' as const), c: pick(comparisonIds), r: pick(userIds) }),
    fc.record({ kind: fc.constant('submit' as const), c: pick(comparisonIds), r: pick(userIds), skipped: fc.boolean() }),
  );
  const rankingsOf = async (c: string) =>
    (await db.query(`SELECT coalesce(string_agg(id || skipped::text, ',' ORDER BY id), '') AS s FROM "Ranking" WHERE "comparisonId" = $1`, [c])).rows[0].s as string;
  const namings = async (c: string) => (await db.query(`SELECT count(*)::int AS n FROM "DashboardChange" WHERE "comparisonId" = $1`, [c])).rows[0].n as number;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
      await db.query(`DELETE FROM "Ranking"; DELETE FROM "Assignment"; UPDATE "Comparison" SET status = 'open'`);
      for (const o of ops) {
        const [before, named] = [await rankingsOf(o.c), await namings(o.c)];
        if (o.kind === 'submit') {
          // refused (full, ranked already) or stored; either way the counts must hold
          await db.query(
            `SELECT "jielong_submit_ranking"($1, $2, $3, '[]', '{}', false, NULL, 0, $4, NULL, now()::timestamp(3), '[]', NULL, NULL, NULL, NULL)`,
            [o.c, o.r, randomUUID(), o.skipped],
          ).catch((err: { code?: string }) => assert.equal(err.code, 'JL001', String(err)));
        } else if (o.kind === 'rank') {
          await db.query(`INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", skipped) VALUES ($1, $2, $3, '[]', $4) ON CONFLICT DO NOTHING`, [randomUUID(), o.c, o.r, o.skipped]);
        } else if (o.kind === 'unrank') {
          await db.query(`DELETE FROM "Ranking" WHERE "comparisonId" = $1 AND "raterId" = $2`, [o.c, o.r]);
        } else if (o.kind === 'flip') {
          await db.query(`UPDATE "Ranking" SET skipped = NOT skipped WHERE "comparisonId" = $1 AND "raterId" = $2`, [o.c, o.r]);
        } else if (o.kind === 'hold') {
          await db.query(
            `INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt") VALUES ($1, $2, now(), now() + make_interval(mins => $3))
             ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "expiresAt" = excluded."expiresAt", "completedAt" = NULL`,
            [o.c, o.r, o.past ? -5 : 30],
          );
        } else if (o.kind === 'complete') {
          await db.query(`UPDATE "Assignment" SET "completedAt" = now() WHERE "comparisonId" = $1 AND "raterId" = $2`, [o.c, o.r]);
        } else {
          await db.query(`DELETE FROM "Assignment" WHERE "comparisonId" = $1 AND "raterId" = $2`, [o.c, o.r]);
        }
        assert.deepEqual(await drifted(db), [], JSON.stringify(o));
        if ((await rankingsOf(o.c)) !== before) assert.ok((await namings(o.c)) > named, `not named to the dashboard: ${JSON.stringify(o)}`);
      }
    }),
    { numRuns: 60 },
  );
});

test('a hold that expires with time frees its slot for the next hand-out, though nothing was written', async (t) => {
  const db = await migrated(t);
  const { projectId, userIds, comparisonIds } = await seed(db, 1, 2, 1);
  const handOut = async (rater: string, ttlMs: number) =>
    (await db.query(`SELECT "jielong_hand_out"($1, $2, $3, false, 100) AS h`, [projectId, rater, ttlMs])).rows[0].h as { task: { id: string } | null };
  assert.equal((await handOut(userIds[0], 400)).task?.id, comparisonIds[0]);
  // the one slot is held: the other rater gets nothing
  assert.equal((await handOut(userIds[1], 60_000)).task, null);
  await new Promise((r) => setTimeout(r, 600));
  // the kept count still says 1 live hold; its expiry, passed, sends the walk to count again
  const [kept] = (await db.query(`SELECT "liveHolds" FROM "Comparison" WHERE id = $1`, [comparisonIds[0]])).rows;
  assert.equal(kept.liveHolds, 1);
  assert.equal((await handOut(userIds[1], 60_000)).task?.id, comparisonIds[0]);
});
