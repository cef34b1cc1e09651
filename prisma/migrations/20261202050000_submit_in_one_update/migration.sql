-- A submission writes its comparison's row once. Before, the row was updated three times per
-- ranking (the ranking counts' trigger, the holds' trigger after the assignment was completed, the
-- agreement and closing), each a new row version, and named in "DashboardChange" twice; and the
-- Idempotency-Key's row was inserted and then updated with the comparison's status.
--
-- Now the submission counts its own ranking and its own completed assignment in the one update it
-- makes, and tells the two triggers so for the rest of its transaction through the setting
-- jielong.counted ("<comparison id> <rater id>"); they go on counting every other writer's rows.
-- The comparison names itself in "DashboardChange" whenever a figure the dashboard shows changes,
-- counts included, so the ranking counts' trigger no longer names it separately. The key is looked
-- up under the comparison's lock (a request with the same key that held the lock before has
-- committed its answer by then) and inserted once, at the end, with the comparison's final status.

-- The ranking counts (20261201170500_dashboard_totals), less its own "DashboardChange" rows: its
-- updates change a count, so the comparison's trigger below names the comparison.
CREATE OR REPLACE FUNCTION "jielong_count_rankings"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' AND current_setting('jielong.counted', true) = NEW."comparisonId" || ' ' || NEW."raterId" THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" - (NOT OLD.skipped)::int, "skipCount" = "skipCount" - OLD.skipped::int,
      "doneBy" = array_remove("doneBy", OLD."raterId"), "comparedPairs" = NULL, "agreedPairs" = NULL
    WHERE id = OLD."comparisonId";
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" + (NOT NEW.skipped)::int, "skipCount" = "skipCount" + NEW.skipped::int,
      "doneBy" = array_append("doneBy", NEW."raterId")
    WHERE id = NEW."comparisonId";
  END IF;
  RETURN NULL;
END $$;

-- The holds (20261201160000_comparison_holds), but for the submission's own assignment.
CREATE OR REPLACE FUNCTION "jielong_count_holds"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD."comparisonId" ELSE NEW."comparisonId" END;
BEGIN
  IF TG_OP <> 'DELETE' AND current_setting('jielong.counted', true) = NEW."comparisonId" || ' ' || NEW."raterId"
     AND (TG_OP = 'INSERT' OR OLD."comparisonId" = NEW."comparisonId") THEN
    RETURN NULL;
  END IF;
  UPDATE "Comparison" c SET ("liveHolds", "holdsExpireAt") = (
    SELECT count(*)::int, min(a."expiresAt") FROM "Assignment" a
    WHERE a."comparisonId" = target AND a."completedAt" IS NULL AND a."expiresAt" > now())
  WHERE c.id = target;
  IF TG_OP = 'UPDATE' AND OLD."comparisonId" <> NEW."comparisonId" THEN
    UPDATE "Comparison" c SET ("liveHolds", "holdsExpireAt") = (
      SELECT count(*)::int, min(a."expiresAt") FROM "Assignment" a
      WHERE a."comparisonId" = OLD."comparisonId" AND a."completedAt" IS NULL AND a."expiresAt" > now())
    WHERE c.id = OLD."comparisonId";
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER "Comparison_dashboard_changed" ON "Comparison";
CREATE TRIGGER "Comparison_dashboard_changed" AFTER UPDATE OF status, "comparedPairs", "agreedPairs", "rankingCount", "skipCount" ON "Comparison"
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD."comparedPairs" IS DISTINCT FROM NEW."comparedPairs"
  OR OLD."agreedPairs" IS DISTINCT FROM NEW."agreedPairs" OR OLD."rankingCount" <> NEW."rankingCount" OR OLD."skipCount" <> NEW."skipCount")
EXECUTE FUNCTION "jielong_dashboard_comparison_changed"();

-- What a stored Idempotency-Key answers a request that carries it again (NULL: it is this request's).
CREATE FUNCTION "jielong_stored_answer"(p_rater TEXT, p_key TEXT, p_scope TEXT, p_request_hash TEXT) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_stored "IdempotencyKey"%ROWTYPE;
BEGIN
  SELECT * INTO v_stored FROM "IdempotencyKey" WHERE "userId" = p_rater AND key = p_key;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF v_stored.scope <> p_scope OR v_stored."requestHash" <> p_request_hash THEN
    RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'idempotency_key_reused';
  END IF;
  IF v_stored."statusCode" = 0 THEN
    RETURN jsonb_build_object('outcome', 'claimed', 'owner', v_stored.owner, 'claim', v_stored.claim,
      'createdAt', to_char(v_stored."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  END IF;
  RETURN jsonb_build_object('outcome', 'replayed', 'statusCode', v_stored."statusCode", 'body', v_stored."responseBody");
END $$;

-- As in 20261201221000_agreement_under_lock, with one update of the comparison and one of the key.
CREATE OR REPLACE FUNCTION "jielong_submit_ranking"(
  p_comparison TEXT, p_rater TEXT, p_ranking TEXT, p_order jsonb, p_flags jsonb, p_all_bad BOOLEAN, p_comment TEXT,
  p_time_spent_ms INTEGER, p_skipped BOOLEAN, p_skip_reason TEXT, p_created_at TIMESTAMP(3), p_ratings jsonb,
  p_key TEXT, p_scope TEXT, p_request_hash TEXT, p_body jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_stored jsonb;
  v_status TEXT;
  v_required INTEGER;
  v_compared INTEGER := 0;
  v_agreed INTEGER := 0;
BEGIN
  SELECT status::text, "requiredRankings" INTO v_status, v_required FROM "Comparison" WHERE id = p_comparison FOR UPDATE;
  IF p_key IS NOT NULL THEN
    v_stored := "jielong_stored_answer"(p_rater, p_key, p_scope, p_request_hash);
    IF v_stored IS NOT NULL THEN RETURN v_stored; END IF;
  END IF;
  IF v_status IS NULL THEN RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'comparison_not_found'; END IF;
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
  IF NOT p_skipped THEN
    -- what this ranking adds to the others', read under the lock. An agreement already unknown (a
    -- revision) stays so (NULL + n), for the dashboard's fill.
    SELECT a.compared, a.agreed INTO v_compared, v_agreed FROM "jielong_agreement_with"(p_order,
      (SELECT jsonb_agg(r."order") FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND NOT r.skipped)) a;
  END IF;

  PERFORM set_config('jielong.counted', p_comparison || ' ' || p_rater, true);
  INSERT INTO "Ranking"(id, "comparisonId", "raterId", "order", flags, "allBad", comment, "timeSpentMs", skipped, "skipReason", "createdAt")
  VALUES (p_ranking, p_comparison, p_rater, p_order, p_flags, p_all_bad, p_comment, p_time_spent_ms, p_skipped, p_skip_reason, p_created_at);
  IF jsonb_array_length(p_ratings) > 0 THEN
    INSERT INTO "AnswerRating"("rankingId", "answerId", scores, thumb)
    SELECT p_ranking, x."answerId", x.scores, x.thumb FROM jsonb_to_recordset(p_ratings) AS x("answerId" TEXT, scores jsonb, thumb BOOLEAN);
  END IF;
  INSERT INTO "Assignment"("comparisonId", "raterId", "assignedAt", "expiresAt", "completedAt") VALUES (p_comparison, p_rater, p_created_at, p_created_at, p_created_at)
  ON CONFLICT ("comparisonId", "raterId") DO UPDATE SET "completedAt" = excluded."completedAt";
  -- a gold comparison never closes; a skip does not count towards closing
  UPDATE "Comparison" c SET "rankingCount" = c."rankingCount" + (NOT p_skipped)::int, "skipCount" = c."skipCount" + p_skipped::int,
    "doneBy" = array_append(c."doneBy", p_rater),
    ("liveHolds", "holdsExpireAt") = (SELECT count(*)::int, min(a."expiresAt") FROM "Assignment" a
      WHERE a."comparisonId" = p_comparison AND a."completedAt" IS NULL AND a."expiresAt" > now()),
    "comparedPairs" = c."comparedPairs" + v_compared, "agreedPairs" = c."agreedPairs" + v_agreed,
    status = CASE WHEN c.status = 'open' AND NOT p_skipped AND c."rankingCount" + 1 >= c."requiredRankings" THEN 'complete'::"ComparisonStatus" ELSE c.status END
  WHERE c.id = p_comparison RETURNING c.status::text INTO v_status;
  PERFORM set_config('jielong.counted', '', true);

  -- a gold comparison stays open to the other raters, and the rater must not tell it from the rest
  IF v_status = 'gold' THEN v_status := 'open'; END IF;
  IF p_key IS NOT NULL THEN
    INSERT INTO "IdempotencyKey"("userId", key, scope, "requestHash", "statusCode", "responseBody")
    VALUES (p_rater, p_key, p_scope, p_request_hash, 201, jsonb_set(p_body, '{comparisonStatus}', to_jsonb(v_status))) ON CONFLICT DO NOTHING;
    -- taken meanwhile by a request for another comparison, or by the generic Idempotency-Key path:
    -- undo all of this one; asked again, it gets that request's answer
    IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'JL001', MESSAGE = 'request_in_progress'; END IF;
  END IF;
  RETURN jsonb_build_object('outcome', 'stored', 'status', v_status);
END $$;
