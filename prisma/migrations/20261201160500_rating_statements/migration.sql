-- A rater's hand-out and submission as one statement each (one round trip, one commit), called by
-- apps/api/src/services/rating.ts. In a VOLATILE PL/pgSQL function each statement takes a fresh
-- snapshot, so a count made after a lock sees every transaction that held the lock before.
-- Slots: a comparison needs requiredRankings non-skipped rankings; a slot is taken by one of them
-- or by an uncompleted, unexpired assignment. Slots change only under the comparison's row lock.
-- A walk along the queue reads only the comparisons' own rows (doneBy, rankingCount, liveHolds,
-- holdsExpireAt: migration 20261201160000_comparison_holds), in index order; what decides is
-- counted again from Ranking and Assignment under the lock.

-- What a ranking's agreement was computed from: its comparison's non-skipped orders. A submission
-- computes agreement from them before it takes the lock, and stores it only if they are unchanged.
CREATE FUNCTION "jielong_orders_fingerprint"(p_comparison TEXT) RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT md5(coalesce(string_agg(r.id || ':' || r."order"::text, ',' ORDER BY r.id), ''))
  FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND NOT r.skipped
$$;

-- The task a rater holds, or the next one: their unexpired assignment if any; else (when p_try_gold)
-- a gold comparison they have not done, while ordinary work is left; else the oldest open
-- comparison with a free slot that they have not done. Returns {"task": …, "remaining": n} (task
-- null: nothing left) or {"retry": true} when the slot it locked was taken meanwhile (the caller
-- calls again: a new transaction, so no call ever holds two comparison locks).
CREATE FUNCTION "jielong_hand_out"(p_project TEXT, p_rater TEXT, p_ttl_ms DOUBLE PRECISION, p_try_gold BOOLEAN, p_remaining_cap INTEGER)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_id TEXT;
  v_candidate TEXT;
  v_remaining INTEGER;
BEGIN
  -- An assignment is a lease: lost in a crash, the rater is handed a task again. So a hand-out
  -- does not wait for its commit to reach the disk (a later submission's commit flushes it anyway).
  PERFORM set_config('synchronous_commit', 'off', true);
  -- one hand-out at a time per rater: a double click must not take two slots
  PERFORM pg_advisory_xact_lock(hashtextextended('rating:' || p_rater, 0));

  SELECT a."comparisonId" INTO v_id FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId"
  WHERE a."raterId" = p_rater AND a."completedAt" IS NULL AND a."expiresAt" > now()
    AND c."projectId" = p_project AND c.status IN ('open', 'gold')
    AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = p_rater)
  ORDER BY a."assignedAt" LIMIT 1;

  -- gold has no slots (every rater gets it once), so it needs no row lock
  IF v_id IS NULL AND p_try_gold THEN
    SELECT c.id INTO v_candidate FROM "Comparison" c
    WHERE c."projectId" = p_project AND c.status = 'gold'
      AND NOT p_rater = ANY (c."doneBy")
    ORDER BY random() LIMIT 1;
    -- only while ordinary work is left, so a queue of nothing but gold never gives it away
    IF v_candidate IS NOT NULL AND EXISTS (SELECT 1 FROM "Comparison" c
        WHERE c."projectId" = p_project AND c.status = 'open'
          AND (c."rankingCount" + c."liveHolds" < c."requiredRankings" OR c."holdsExpireAt" <= now())
          AND NOT p_rater = ANY (c."doneBy")) THEN
      INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt")
      VALUES (v_candidate, p_rater, now(), now() + make_interval(secs => p_ttl_ms / 1000))
      ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "assignedAt" = excluded."assignedAt", "expiresAt" = excluded."expiresAt", "completedAt" = NULL
      RETURNING "comparisonId" INTO v_id;
    END IF;
  END IF;

  -- open comparisons they could still rank (the one they hold, or the one about to be handed out,
  -- among them), in queue order up to the cap: the same at any size of project. Counted before
  -- a comparison is locked, so the lock is held for as short a time as can be.
  SELECT count(*)::int INTO v_remaining FROM (SELECT 1 FROM "Comparison" c
    WHERE c."projectId" = p_project AND c.status = 'open'
      AND NOT p_rater = ANY (c."doneBy")
      AND (c.id = v_id OR c."rankingCount" + c."liveHolds" < c."requiredRankings"
        OR (c."holdsExpireAt" <= now() AND c."rankingCount" + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id
              AND a."raterId" <> p_rater AND a."completedAt" IS NULL AND a."expiresAt" > now()) < c."requiredRankings"))
    ORDER BY c."createdAt", c.id LIMIT p_remaining_cap + 1) s;

  IF v_id IS NULL THEN
    -- the kept counts (rankingCount, liveHolds, holdsExpireAt) choose; the count under the lock decides.
    -- First past comparisons other raters are being handed right now, then waiting for one, so
    -- a busy moment is not mistaken for an empty queue.
    SELECT c.id INTO v_candidate FROM "Comparison" c
    WHERE c."projectId" = p_project AND c.status = 'open'
      AND (c."rankingCount" + c."liveHolds" < c."requiredRankings" OR c."holdsExpireAt" <= now())
      AND NOT p_rater = ANY (c."doneBy")
    ORDER BY c."createdAt", c.id LIMIT 1 FOR UPDATE OF c SKIP LOCKED;
    IF v_candidate IS NULL THEN
      SELECT c.id INTO v_candidate FROM "Comparison" c
      WHERE c."projectId" = p_project AND c.status = 'open'
        AND (c."rankingCount" + c."liveHolds" < c."requiredRankings" OR c."holdsExpireAt" <= now())
        AND NOT p_rater = ANY (c."doneBy")
      ORDER BY c."createdAt", c.id LIMIT 1 FOR UPDATE OF c;
      IF v_candidate IS NULL THEN
        RETURN jsonb_build_object('task', NULL, 'remaining', 0);
      END IF;
    END IF;
    INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt")
    SELECT c.id, p_rater, now(), now() + make_interval(secs => p_ttl_ms / 1000) FROM "Comparison" c
    WHERE c.id = v_candidate AND c.status = 'open'
      AND (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = c.id AND NOT r.skipped)
        + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."raterId" <> p_rater
             AND a."completedAt" IS NULL AND a."expiresAt" > now())
        < c."requiredRankings"
      AND NOT EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = c.id AND r."raterId" = p_rater)
    ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "assignedAt" = excluded."assignedAt", "expiresAt" = excluded."expiresAt", "completedAt" = NULL
    RETURNING "comparisonId" INTO v_id;
    IF v_id IS NULL THEN
      RETURN jsonb_build_object('retry', true);
    END IF;
  END IF;

  RETURN jsonb_build_object('remaining', v_remaining, 'task', (
    SELECT jsonb_build_object('id', c.id, 'gold', c.status = 'gold', 'promptId', p.id, 'promptText', p.text, 'promptTurns', p.turns,
      'language', p.language, 'expiresAt', to_char(a."expiresAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'answers', (SELECT jsonb_agg(jsonb_build_object('id', x.id, 'text', x.text) ORDER BY x.position) FROM "Answer" x WHERE x."comparisonId" = c.id))
    FROM "Comparison" c JOIN "Prompt" p ON p.id = c."promptId" JOIN "Assignment" a ON a."comparisonId" = c.id AND a."raterId" = p_rater
    WHERE c.id = v_id));
END $$;

-- Stores one rater's ranking (or skip), closes the comparison at its N-th ranking, and stores the
-- Idempotency-Key's answer (p_key not null) in the same transaction, so a retry after any crash
-- gets this very response or finds nothing done. The key is claimed first: a concurrent request
-- with the same key waits on it, then replays. Refusals are raised as SQLSTATE JL001 with the
-- error code as the message, so nothing of a refused submission stays.
-- Returns {"outcome": "stored", "status": "open" | "complete"}, {"outcome": "replayed",
-- "statusCode": n, "body": …} or {"outcome": "claimed", "owner": …, "claim": …, "createdAt": …}
-- (an in-flight claim left by a request of the generic Idempotency-Key path).
CREATE FUNCTION "jielong_submit_ranking"(
  p_comparison TEXT, p_rater TEXT, p_ranking TEXT, p_order jsonb, p_flags jsonb, p_all_bad BOOLEAN, p_comment TEXT,
  p_time_spent_ms INTEGER, p_skipped BOOLEAN, p_skip_reason TEXT, p_created_at TIMESTAMP(3), p_ratings jsonb,
  p_compared_pairs INTEGER, p_agreed_pairs INTEGER, p_orders_fingerprint TEXT,
  p_key TEXT, p_scope TEXT, p_request_hash TEXT, p_body jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_stored "IdempotencyKey"%ROWTYPE;
  v_status TEXT;
  v_required INTEGER;
  v_closed BOOLEAN;
BEGIN
  IF p_key IS NOT NULL THEN
    INSERT INTO "IdempotencyKey"("userId", key, scope, "requestHash", "statusCode", "responseBody")
    VALUES (p_rater, p_key, p_scope, p_request_hash, 201, p_body) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO v_stored FROM "IdempotencyKey" WHERE "userId" = p_rater AND key = p_key;
      IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'request_in_progress'; END IF;
      IF v_stored.scope <> p_scope OR v_stored."requestHash" <> p_request_hash THEN
        RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'idempotency_key_reused';
      END IF;
      IF v_stored."statusCode" = 0 THEN
        RETURN jsonb_build_object('outcome', 'claimed', 'owner', v_stored.owner, 'claim', v_stored.claim,
          'createdAt', to_char(v_stored."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
      END IF;
      RETURN jsonb_build_object('outcome', 'replayed', 'statusCode', v_stored."statusCode", 'body', v_stored."responseBody");
    END IF;
  END IF;

  SELECT status::text, "requiredRankings" INTO v_status, v_required FROM "Comparison" WHERE id = p_comparison FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'comparison_not_found'; END IF;
  IF EXISTS (SELECT 1 FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND r."raterId" = p_rater) THEN
    RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'already_ranked';
  END IF;
  -- gold has no slots: every rater gets it once
  IF NOT p_skipped AND v_status <> 'gold'
     AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = p_comparison AND a."raterId" = p_rater
                       AND a."completedAt" IS NULL AND a."expiresAt" > now())
     AND (v_status = 'complete'
          OR (SELECT count(*) FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND NOT r.skipped)
             + (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = p_comparison AND a."raterId" <> p_rater
                  AND a."completedAt" IS NULL AND a."expiresAt" > now()) >= v_required) THEN
    RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'comparison_full';
  END IF;
  -- another ranking of the same comparison committed since the caller computed the agreement:
  -- it is stored as unknown (null), which the dashboard computes (as for a revised ranking)
  IF NOT p_skipped AND "jielong_orders_fingerprint"(p_comparison) <> p_orders_fingerprint THEN
    p_compared_pairs := NULL;
    p_agreed_pairs := NULL;
  END IF;

  INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", flags, "allBad", comment, "timeSpentMs", skipped, "skipReason", "createdAt")
  VALUES (p_ranking, p_comparison, p_rater, p_order, p_flags, p_all_bad, p_comment, p_time_spent_ms, p_skipped, p_skip_reason, p_created_at);
  INSERT INTO "AnswerRating"("rankingId", "answerId", scores, thumb)
  SELECT p_ranking, x."answerId", x.scores, x.thumb FROM jsonb_to_recordset(p_ratings) AS x("answerId" TEXT, scores jsonb, thumb BOOLEAN);
  INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt", "completedAt") VALUES (p_comparison, p_rater, p_created_at, p_created_at, p_created_at)
  ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "completedAt" = excluded."completedAt";
  -- agreement is kept on the comparison for the dashboard (a skip changes nothing); a gold
  -- comparison never closes
  v_closed := false;
  IF NOT p_skipped THEN
    UPDATE "Comparison" c SET "comparedPairs" = p_compared_pairs, "agreedPairs" = p_agreed_pairs,
      status = CASE WHEN c.status = 'open' AND c."rankingCount" >= c."requiredRankings" THEN 'complete'::"ComparisonStatus" ELSE c.status END
    WHERE c.id = p_comparison RETURNING c.status = 'complete' AND v_status = 'open' INTO v_closed;
  END IF;
  -- a gold comparison stays open to the other raters, and the rater must not tell it from the rest
  v_status := CASE WHEN v_closed THEN 'complete' WHEN v_status = 'gold' THEN 'open' ELSE v_status END;
  IF p_key IS NOT NULL THEN
    UPDATE "IdempotencyKey" SET "responseBody" = jsonb_set(p_body, '{comparisonStatus}', to_jsonb(v_status))
    WHERE "userId" = p_rater AND key = p_key;
  END IF;
  RETURN jsonb_build_object('outcome', 'stored', 'status', v_status);
END $$;

-- Agreement stored as unknown (a submission that raced another, a revision) is found by the
-- dashboard's fill through this index, not by reading every comparison of the project.
CREATE INDEX "Comparison_agreement_unknown_idx" ON "Comparison"("projectId", id) WHERE "comparedPairs" IS NULL;
