-- The audit trail (issue 21): who did what to which app or grant, from where, with what result.
-- Written by mediaxd for every admin action (before a state-changing handler runs: no record, no
-- action), every admin read, every refused request on an audited route, the local commands
-- (migrate, create-api-key, revoke-api-key, rotate-key), and token reads aggregated per key, app,
-- grant, result and minute (`count`). Never a token, secret, code, state or query string: only
-- names, ids, statuses and addresses.
CREATE TABLE mediax.audit (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),  -- token reads: the start of their minute
  who       text,              -- the API key's name, or the local command; NULL on open routes
  what      text NOT NULL,     -- the route's operationId, or the local command
  app       text,              -- from the route's {name}/{app} parameter
  grant_id  text,              -- from the route's {id} parameter (as sent)
  result    text,              -- HTTP status or outcome; NULL until a write-ahead record gets it
  peer      text,              -- the client's IP address; "local" for local commands
  count     integer NOT NULL DEFAULT 1 CHECK (count > 0)
);
CREATE INDEX audit_at ON mediax.audit (at);

-- Append-only, also for the daemon's own role: a row is never changed, except that a result
-- missing (a write-ahead record) may be set once; nothing younger than 7 days (the smallest
-- security.audit_retention_days) may be deleted, so a compromised daemon can add lies but not
-- remove or rewrite the record of what it did this week. TRUNCATE is refused.
CREATE FUNCTION mediax.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.result IS NULL AND NEW.result IS NOT NULL
       AND (NEW.id, NEW.at, NEW.who, NEW.what, NEW.app, NEW.grant_id, NEW.peer, NEW.count)
           IS NOT DISTINCT FROM (OLD.id, OLD.at, OLD.who, OLD.what, OLD.app, OLD.grant_id, OLD.peer, OLD.count) THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'mediax.audit is append-only: only a missing result may be set, once (row %)', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  ELSIF TG_OP = 'DELETE' THEN
    IF OLD.at < now() - interval '7 days' THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'mediax.audit is append-only: rows younger than 7 days may not be deleted (row %)', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RAISE EXCEPTION 'mediax.audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON mediax.audit
  FOR EACH ROW EXECUTE FUNCTION mediax.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON mediax.audit
  FOR EACH STATEMENT EXECUTE FUNCTION mediax.audit_append_only();

-- Who did what is not the token readers' business (0004: mediax_reader reads access_tokens only).
REVOKE ALL ON mediax.audit FROM PUBLIC;
REVOKE ALL ON SEQUENCE mediax.audit_id_seq FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mediax_reader') THEN
    REVOKE ALL ON mediax.audit FROM mediax_reader;
    REVOKE ALL ON SEQUENCE mediax.audit_id_seq FROM mediax_reader;
  END IF;
END
$$;
