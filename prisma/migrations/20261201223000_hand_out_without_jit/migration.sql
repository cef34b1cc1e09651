-- The hand-out's generic plans (20261201220000_rating_planning) do not know its LIMIT, which is a
-- parameter, so the planner took a tenth of the project's open comparisons for it: at 100,000 open
-- the remaining count's estimate passed jit_above_cost, and every hand-out compiled it (~9 ms) to
-- read 101 index entries (~0.3 ms). Its statements are all index walks of a few rows: no JIT.
ALTER FUNCTION "jielong_hand_out"(TEXT, TEXT, DOUBLE PRECISION, BOOLEAN, INTEGER) SET jit = off;
