-- A hand-out looks up the rater's live assignment (completedAt IS NULL): with completedAt in the
-- index that is one seek, where the index on raterId alone walks every comparison they ranked.
DROP INDEX "Assignment_raterId_idx";

CREATE INDEX "Assignment_raterId_completedAt_idx" ON "Assignment"("raterId", "completedAt");
