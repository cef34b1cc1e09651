-- What PostgreSQL 15 spent planning on every rating call (perf on a 200-rater run: ~18% of the
-- server's CPU), kept once per connection instead.

-- A LANGUAGE sql function that cannot be inlined (it aggregates) is parsed and planned again on
-- every call; a PL/pgSQL one keeps its plan for the connection. Same result, same volatility.
CREATE OR REPLACE FUNCTION "jielong_orders_fingerprint"(p_comparison TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT md5(coalesce(string_agg(r.id || ':' || r."order"::text, ',' ORDER BY r.id), ''))
          FROM "Ranking" r WHERE r."comparisonId" = p_comparison AND NOT r.skipped);
END $$;

-- The hand-out's queue statements have the same plan for every project and rater, but their
-- generic plan's estimate is a little above the custom plans', so the plan cache planned them
-- again on every call. The plans were checked identical (EXPLAIN, generic and custom).
ALTER FUNCTION "jielong_hand_out"(TEXT, TEXT, DOUBLE PRECISION, BOOLEAN, INTEGER) SET plan_cache_mode = force_generic_plan;
