-- A submission's agreement computed where the rankings are, under the comparison's lock. Before,
-- the API computed it from the orders it read before the lock and stored it as unknown when
-- another ranking had committed meanwhile; with raters handed the same comparison together that
-- was a third of the submissions, each then computed again by the dashboard's fill and folded
-- twice. The submission now reads no orders beforehand, and adds what its ranking contributes
-- (the sum over pairs of rankings grows by the new one's pairs with each other).

-- What one ranking adds to its comparison's pairwise agreement (packages/shared pairs.ts
-- pairwiseAgreement, which the dashboard's fill uses, is the same definition summed over every two
-- rankings; tests/db/agreement.test.ts holds them equal): over each other ranking and every two
-- answers both rank, whether the two say the same (one better, the other better, or a tie).
-- p_order: groups of answer ids, best first; p_others: a JSON array of such orders. PL/pgSQL, so
-- its plan is kept per connection (a LANGUAGE sql function with an aggregate is planned on every
-- call). No JIT: the planner guesses 100 elements per JSON array, and the joins' cost then passed
-- jit_above_cost, so every call compiled the query (~350 ms) to join a dozen rows (~70 µs).
CREATE FUNCTION "jielong_agreement_with"(p_order jsonb, p_others jsonb, OUT compared INTEGER, OUT agreed INTEGER)
LANGUAGE plpgsql IMMUTABLE SET jit = off AS $$
BEGIN
  WITH mine AS (
    SELECT e.id, g.i FROM jsonb_array_elements(p_order) WITH ORDINALITY g(grp, i), jsonb_array_elements_text(g.grp) e(id)
  ), theirs AS (
    SELECT o.r, e.id, g.i FROM jsonb_array_elements(coalesce(p_others, '[]')) WITH ORDINALITY o(ord, r),
      jsonb_array_elements(o.ord) WITH ORDINALITY g(grp, i), jsonb_array_elements_text(g.grp) e(id)
  )
  SELECT count(*)::int, (count(*) FILTER (WHERE sign(m1.i - m2.i) = sign(t1.i - t2.i)))::int INTO compared, agreed
  FROM mine m1 JOIN mine m2 ON m1.id < m2.id
  JOIN theirs t1 ON t1.id = m1.id JOIN theirs t2 ON t2.r = t1.r AND t2.id = m2.id;
END $$;

DROP FUNCTION "jielong_submit_ranking"(TEXT, TEXT, TEXT, jsonb, jsonb, BOOLEAN, TEXT, INTEGER, BOOLEAN, TEXT, TIMESTAMP(3), jsonb,
  INTEGER, INTEGER, TEXT, TEXT, TEXT, TEXT, jsonb);
DROP FUNCTION "jielong_orders_fingerprint"(TEXT);

-- As in 20261201160500_rating_statements, but the agreement is computed here, under the lock.
CREATE FUNCTION "jielong_submit_ranking"(
  p_comparison TEXT, p_rater TEXT, p_ranking TEXT, p_order jsonb, p_flags jsonb, p_all_bad BOOLEAN, p_comment TEXT,
  p_time_spent_ms INTEGER, p_skipped BOOLEAN, p_skip_reason TEXT, p_created_at TIMESTAMP(3), p_ratings jsonb,
  p_key TEXT, p_scope TEXT, p_request_hash TEXT, p_body jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_stored "IdempotencyKey"%ROWTYPE;
  v_status TEXT;
  v_required INTEGER;
  v_closed BOOLEAN;
  v_compared INTEGER;
  v_agreed INTEGER;
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
    -- what this ranking adds to the others, read under the lock: exact however many raters submit
    -- at once. An agreement already unknown (a revision) stays so, for the dashboard's fill.
    SELECT a.compared, a.agreed INTO v_compared, v_agreed FROM "jielong_agreement_with"(p_order,
      (SELECT jsonb_agg(r."order") FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND NOT r.skipped AND r.id <> p_ranking)) a;
    UPDATE "Comparison" c SET "comparedPairs" = c."comparedPairs" + v_compared, "agreedPairs" = c."agreedPairs" + v_agreed,
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
