-- Who is calling is read on every request; an API process keeps what it read in memory
-- (apps/api/src/plugins/auth.ts) for as long as nothing it depends on changes. Every writer of a
-- session, an API token's revocation or a user (a logout, a password change, a role change, the
-- clean-up, a cascade, another process, a hand in psql) tells every process at its commit, and
-- they forget what they kept. A new session or token needs no word: only what was read is kept.
-- NOTIFY sends one notification per transaction however many rows it changed.
CREATE FUNCTION "jielong_credentials_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('jielong_credentials', '');
  RETURN NULL;
END $$;

CREATE TRIGGER "Session_credentials" AFTER UPDATE OR DELETE ON "Session"
FOR EACH ROW EXECUTE FUNCTION "jielong_credentials_changed"();

-- not on "lastUsedAt": its touch, once a minute per token in use, changes nothing a caller is
CREATE TRIGGER "ApiToken_credentials" AFTER UPDATE OF "revokedAt", "tokenHash", "userId" OR DELETE ON "ApiToken"
FOR EACH ROW EXECUTE FUNCTION "jielong_credentials_changed"();

CREATE TRIGGER "User_credentials" AFTER UPDATE OR DELETE ON "User"
FOR EACH ROW EXECUTE FUNCTION "jielong_credentials_changed"();
