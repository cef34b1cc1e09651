-- What an API process reads on every rater's request and keeps in memory (apps/api/src/kept-reads.ts):
-- who a credential is (plugins/auth.ts), and what a submission is checked against (a comparison's
-- answers, the project's rating settings, the rater's roles in it: services/rating.ts). Every
-- writer of any of it (a logout, a revocation, a password, role or membership change, a project's
-- scales, by any process or by hand in psql) tells every process at its commit, and they forget
-- all they kept. NOTIFY sends one notification per transaction however many rows changed. New
-- rows need no word (only what was read is kept), but for memberships: a refusal is kept too.
CREATE FUNCTION "jielong_kept_reads_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jielong_kept_reads', '');
  RETURN NULL;
END $$;

CREATE TRIGGER "Session_kept_reads" AFTER UPDATE OR DELETE ON "Session"
FOR EACH ROW EXECUTE FUNCTION "jielong_kept_reads_changed"();

-- not on "lastUsedAt": its touch, once a minute per token in use, changes nothing a caller is
CREATE TRIGGER "ApiToken_kept_reads" AFTER UPDATE OF "revokedAt", "tokenHash", "userId" OR DELETE ON "ApiToken"
FOR EACH ROW EXECUTE FUNCTION "jielong_kept_reads_changed"();

CREATE TRIGGER "User_kept_reads" AFTER UPDATE OR DELETE ON "User"
FOR EACH ROW EXECUTE FUNCTION "jielong_kept_reads_changed"();

CREATE TRIGGER "Project_kept_reads" AFTER UPDATE OF "ratingScales", thumbs OR DELETE ON "Project"
FOR EACH ROW EXECUTE FUNCTION "jielong_kept_reads_changed"();

CREATE TRIGGER "ProjectMember_kept_reads" AFTER INSERT OR UPDATE OR DELETE ON "ProjectMember"
FOR EACH ROW EXECUTE FUNCTION "jielong_kept_reads_changed"();

-- a comparison's answers are written with it and never change: only a deletion names them, once
-- per statement (deleting a project deletes every answer of it)
CREATE TRIGGER "Answer_kept_reads" AFTER UPDATE OF id, "comparisonId" OR DELETE ON "Answer"
FOR EACH STATEMENT EXECUTE FUNCTION "jielong_kept_reads_changed"();
