-- The dashboard's totals of comparisons (by status, agreement) and of skips, kept in the same
-- ledger as the rankings per day (20261201170000_dashboard_ledger) instead of summed over every
-- comparison of the project on each request: each comparison contributes them to the day it was
-- made, and the totals add up every day.
ALTER TABLE "DashboardDay" ADD COLUMN "skips" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "open" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "complete" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "gold" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "agreementComparisons" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "comparedPairs" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "agreedPairs" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "uncounted" INTEGER NOT NULL DEFAULT 0;

-- Skips count too now: every ranking written, changed or deleted names its comparison.
CREATE OR REPLACE FUNCTION "jielong_count_rankings"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  project TEXT;
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" - (NOT OLD.skipped)::int, "skipCount" = "skipCount" - OLD.skipped::int,
      "doneBy" = array_remove("doneBy", OLD."raterId"), "comparedPairs" = NULL, "agreedPairs" = NULL
    WHERE id = OLD."comparisonId" RETURNING "projectId" INTO project;
    IF FOUND THEN
      INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (project, OLD."comparisonId");
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" + (NOT NEW.skipped)::int, "skipCount" = "skipCount" + NEW.skipped::int,
      "doneBy" = array_append("doneBy", NEW."raterId")
    WHERE id = NEW."comparisonId" RETURNING "projectId" INTO project;
    IF FOUND THEN
      INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (project, NEW."comparisonId");
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- A comparison made, or its status or kept agreement changed, names itself. Its row is the one its
-- writer holds already (a submit locks it before it ranks), so no writer waits on another's.
CREATE FUNCTION "jielong_dashboard_comparison_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (NEW."projectId", NEW.id);
  RETURN NULL;
END $$;

CREATE TRIGGER "Comparison_dashboard_made" AFTER INSERT ON "Comparison"
FOR EACH ROW EXECUTE FUNCTION "jielong_dashboard_comparison_changed"();

CREATE TRIGGER "Comparison_dashboard_changed" AFTER UPDATE OF status, "comparedPairs", "agreedPairs" ON "Comparison"
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD."comparedPairs" IS DISTINCT FROM NEW."comparedPairs"
  OR OLD."agreedPairs" IS DISTINCT FROM NEW."agreedPairs")
EXECUTE FUNCTION "jielong_dashboard_comparison_changed"();

-- Every comparison deleted now takes something from the totals.
CREATE OR REPLACE FUNCTION "jielong_dashboard_comparison_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "Project" WHERE id = OLD."projectId") THEN
    INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (OLD."projectId", OLD.id);
  END IF;
  RETURN NULL;
END $$;

-- Every comparison: the first dashboard of each project computes their totals.
INSERT INTO "DashboardChange"("projectId", "comparisonId") SELECT "projectId", id FROM "Comparison";
