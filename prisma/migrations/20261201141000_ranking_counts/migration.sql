-- Each comparison counts its rankings and skips, kept by a trigger so every writer (submissions,
-- imports, revisions, undo, cascaded deletes) keeps them right; the dashboard sums them instead of
-- counting rows. A ranking revised or deleted also forgets the comparison's kept agreement (NULL),
-- which the next dashboard computes again.
ALTER TABLE "Comparison" ADD COLUMN "rankingCount" INTEGER NOT NULL DEFAULT 0, ADD COLUMN "skipCount" INTEGER NOT NULL DEFAULT 0;

UPDATE "Comparison" c SET "rankingCount" = n.ranked, "skipCount" = n.skipped
FROM (SELECT "comparisonId", count(*) FILTER (WHERE NOT skipped) AS ranked, count(*) FILTER (WHERE skipped) AS skipped FROM "Ranking" GROUP BY 1) n
WHERE c.id = n."comparisonId";

CREATE FUNCTION "jielong_count_rankings"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" - (NOT OLD.skipped)::int, "skipCount" = "skipCount" - OLD.skipped::int,
      "comparedPairs" = NULL, "agreedPairs" = NULL
    WHERE id = OLD."comparisonId";
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" + (NOT NEW.skipped)::int, "skipCount" = "skipCount" + NEW.skipped::int WHERE id = NEW."comparisonId";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Ranking_counts" AFTER INSERT OR DELETE OR UPDATE OF skipped, "order", "comparisonId" ON "Ranking"
FOR EACH ROW EXECUTE FUNCTION "jielong_count_rankings"();

-- The dashboard's rankings per day of its window.
CREATE INDEX "Ranking_createdAt_idx" ON "Ranking"("createdAt");
