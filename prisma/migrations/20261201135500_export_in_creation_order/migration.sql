-- The preference export walks a project's comparisons in the order they were made, a batch at a time
-- (rows made together lie together: walking by a random id read the table at random).
CREATE INDEX "Comparison_projectId_createdAt_id_idx" ON "Comparison"("projectId", "createdAt", "id");
