-- The preference export walks a project's comparisons by id, a batch at a time.
CREATE INDEX "Comparison_projectId_id_idx" ON "Comparison"("projectId", "id");
