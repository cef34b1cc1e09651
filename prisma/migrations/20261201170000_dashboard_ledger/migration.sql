-- The dashboard's rankings per day and Krippendorff α per day, kept so that a dashboard does not
-- read every ranking of the project. Writers only append: a ranking written, changed or deleted
-- (and a rater exclusion made, changed or removed) adds a row to "DashboardChange" naming its
-- comparison, with no lock on any shared row (no foreign key either: its check would lock the
-- project's row on every submit). The dashboard itself takes those rows, recomputes the named
-- comparisons' contributions per day ("ComparisonDashboard"), and adds the differences to the
-- project's days ("DashboardDay"); only readers write those two tables, one at a time per project.

-- CreateTable
CREATE TABLE "DashboardChange" (
    "projectId" TEXT NOT NULL,
    "comparisonId" TEXT NOT NULL,
    "id" BIGSERIAL NOT NULL,

    CONSTRAINT "DashboardChange_pkey" PRIMARY KEY ("projectId","comparisonId","id")
);

-- CreateTable
CREATE TABLE "ComparisonDashboard" (
    "comparisonId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "days" JSONB NOT NULL,

    CONSTRAINT "ComparisonDashboard_pkey" PRIMARY KEY ("comparisonId")
);

-- CreateTable
CREATE TABLE "DashboardDay" (
    "projectId" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "rankings" INTEGER NOT NULL DEFAULT 0,
    "units" INTEGER NOT NULL DEFAULT 0,
    "judgements" INTEGER NOT NULL DEFAULT 0,
    "strict" INTEGER NOT NULL DEFAULT 0,
    "disagreement" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "DashboardDay_pkey" PRIMARY KEY ("projectId","day")
);

-- CreateIndex
CREATE INDEX "ComparisonDashboard_projectId_idx" ON "ComparisonDashboard"("projectId");

-- AddForeignKey
ALTER TABLE "ComparisonDashboard" ADD CONSTRAINT "ComparisonDashboard_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DashboardDay" ADD CONSTRAINT "DashboardDay_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The ranking counts' trigger (20261201141000_ranking_counts) also names the comparison of a
-- ranking that counts (a skip changes neither the rankings per day nor α). It fires on the columns
-- that change a ranking's meaning; no writer changes a ranking's "createdAt" or "raterId". Its comparison's row
-- is the one the submit locks anyway; when that row is gone (a cascaded delete) the comparison's
-- own trigger below has named it.
CREATE OR REPLACE FUNCTION "jielong_count_rankings"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  project TEXT;
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" - (NOT OLD.skipped)::int, "skipCount" = "skipCount" - OLD.skipped::int,
      "doneBy" = array_remove("doneBy", OLD."raterId"), "comparedPairs" = NULL, "agreedPairs" = NULL
    WHERE id = OLD."comparisonId" RETURNING "projectId" INTO project;
    IF FOUND AND NOT OLD.skipped THEN
      INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (project, OLD."comparisonId");
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE "Comparison" SET "rankingCount" = "rankingCount" + (NOT NEW.skipped)::int, "skipCount" = "skipCount" + NEW.skipped::int,
      "doneBy" = array_append("doneBy", NEW."raterId")
    WHERE id = NEW."comparisonId" RETURNING "projectId" INTO project;
    IF FOUND AND NOT NEW.skipped THEN
      INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (project, NEW."comparisonId");
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- A comparison deleted (with a prompt, say) takes its contributions with it: name it. Not when its
-- project is being deleted: the project's dashboard tables go with the project.
CREATE FUNCTION "jielong_dashboard_comparison_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."rankingCount" > 0 AND EXISTS (SELECT 1 FROM "Project" WHERE id = OLD."projectId") THEN
    INSERT INTO "DashboardChange"("projectId", "comparisonId") VALUES (OLD."projectId", OLD.id);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "Comparison_dashboard" AFTER DELETE ON "Comparison"
FOR EACH ROW EXECUTE FUNCTION "jielong_dashboard_comparison_deleted"();

-- α leaves out excluded raters' rankings: an exclusion made, changed or removed names every
-- comparison its rater ranked in the project (a superset of those in its time range; it is rare).
CREATE FUNCTION "jielong_dashboard_exclusion"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO "DashboardChange"("projectId", "comparisonId")
    SELECT DISTINCT c."projectId", c.id FROM "Ranking" r JOIN "Comparison" c ON c.id = r."comparisonId"
    WHERE r."raterId" = OLD."raterId" AND c."projectId" = OLD."projectId" AND NOT r.skipped
      AND EXISTS (SELECT 1 FROM "Project" WHERE id = OLD."projectId");
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO "DashboardChange"("projectId", "comparisonId")
    SELECT DISTINCT c."projectId", c.id FROM "Ranking" r JOIN "Comparison" c ON c.id = r."comparisonId"
    WHERE r."raterId" = NEW."raterId" AND c."projectId" = NEW."projectId" AND NOT r.skipped;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "RaterExclusion_dashboard" AFTER INSERT OR DELETE OR UPDATE ON "RaterExclusion"
FOR EACH ROW EXECUTE FUNCTION "jielong_dashboard_exclusion"();

-- The changes of a project deleted would never be taken: drop them with it.
CREATE FUNCTION "jielong_dashboard_project_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "DashboardChange" WHERE "projectId" = OLD.id;
  RETURN NULL;
END $$;

CREATE TRIGGER "Project_dashboard" AFTER DELETE ON "Project"
FOR EACH ROW EXECUTE FUNCTION "jielong_dashboard_project_deleted"();

-- Every comparison ranked so far: the first dashboard of each project computes them.
INSERT INTO "DashboardChange"("projectId", "comparisonId") SELECT "projectId", id FROM "Comparison" WHERE "rankingCount" > 0;
