-- A rater's "next task" as one call: the project and the caller's membership are read by the same
-- statement that hands the task out (before, a round trip of their own on every hand-out).
-- Returns {"project": false} (no such project), {"denied": true, "roles": […] | null} (the caller
-- may not rate here: the API words the 403 from the roles), or what jielong_hand_out returns.
-- p_admin: the caller is a global admin (every role in every project). p_gold_draw: a uniform
-- draw in [0, 1) made once per request, so a retry keeps the same gold-or-not choice.
CREATE FUNCTION "jielong_rating_task"(p_project TEXT, p_rater TEXT, p_admin BOOLEAN, p_gold_draw DOUBLE PRECISION,
  p_ttl_ms DOUBLE PRECISION, p_remaining_cap INTEGER)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_gold_rate DOUBLE PRECISION;
  v_roles TEXT[];
BEGIN
  SELECT p."goldRate", m.roles::text[] INTO v_gold_rate, v_roles FROM "Project" p
  LEFT JOIN "ProjectMember" m ON m."projectId" = p.id AND m."userId" = p_rater WHERE p.id = p_project;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('project', false);
  END IF;
  IF NOT p_admin AND NOT coalesce(v_roles && ARRAY['rater', 'admin'], false) THEN
    RETURN jsonb_build_object('denied', true, 'roles', to_jsonb(v_roles));
  END IF;
  RETURN "jielong_hand_out"(p_project, p_rater, p_ttl_ms, p_gold_draw < v_gold_rate, p_remaining_cap);
END $$;
