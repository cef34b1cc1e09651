-- What a hand-out looks past, kept on each comparison so the queue walk reads one row per
-- comparison, in queue order, instead of probing the Ranking and Assignment indexes for each.
--
-- "doneBy": the raters who ranked or skipped it, kept by the ranking counts' trigger.
-- "liveHolds" is how many uncompleted
-- assignments had not expired when the comparison's assignments last changed, and
-- "holdsExpireAt" the earliest expiry among them. Holds only ever expire with time, so
-- rankingCount + liveHolds is an upper bound of the slots taken, exact until holdsExpireAt;
-- past it, a reader counts the assignments again. A trigger keeps both right for every writer.
ALTER TABLE "Comparison" ADD COLUMN "doneBy" TEXT[] NOT NULL DEFAULT '{}',
  ADD COLUMN "liveHolds" INTEGER NOT NULL DEFAULT 0, ADD COLUMN "holdsExpireAt" TIMESTAMP(3);

UPDATE "Comparison" c SET "doneBy" = d.raters
FROM (SELECT "comparisonId", array_agg("raterId" ORDER BY "createdAt") AS raters FROM "Ranking" GROUP BY 1) d
WHERE c.id = d."comparisonId";

CREATE OR REPLACE FUNCTION "jielong_count_rankings"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

UPDATE "Comparison" c SET "liveHolds" = h.n, "holdsExpireAt" = h.first
FROM (SELECT "comparisonId", count(*)::int AS n, min("expiresAt") AS first FROM "Assignment"
      WHERE "completedAt" IS NULL AND "expiresAt" > now() GROUP BY 1) h
WHERE c.id = h."comparisonId";

CREATE FUNCTION "jielong_count_holds"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target TEXT := CASE WHEN TG_OP = 'DELETE' THEN OLD."comparisonId" ELSE NEW."comparisonId" END;
BEGIN
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

CREATE TRIGGER "Assignment_holds" AFTER INSERT OR DELETE OR UPDATE ON "Assignment"
FOR EACH ROW EXECUTE FUNCTION "jielong_count_holds"();

-- The queue: open comparisons only, in the order they are handed out (createdAt, then id), so a
-- walk from its head never sorts and never reads closed ones. Partial, so that however few of a
-- project's comparisons are closed the planner never prefers walking (projectId, createdAt, id)
-- past them. Room on each page for the counters' updates to stay HOT.
CREATE INDEX "Comparison_open_queue_idx" ON "Comparison"("projectId", "createdAt", "id") WHERE status = 'open';
ALTER TABLE "Comparison" SET (fillfactor = 70);
