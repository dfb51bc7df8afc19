-- mediaxd schema, version 1. Applied by the Migrator inside one transaction; the schema
-- "mediax" and mediax.schema_migrations exist already. Names are always schema-qualified.

-- A registered client at a platform. The status/lease columns schedule the app's own
-- client-credentials token.
CREATE TABLE mediax.apps (
  id                 bigserial PRIMARY KEY,
  name               text NOT NULL UNIQUE CHECK (name <> ''),
  platform           text NOT NULL,
  client_id          text NOT NULL,
  client_secret      text NOT NULL DEFAULT '',
  scopes             text[] NOT NULL DEFAULT '{}',
  client_credentials boolean NOT NULL DEFAULT false,
  issuer             text NOT NULL DEFAULT '',
  authorize_url      text NOT NULL DEFAULT '',
  token_url          text NOT NULL DEFAULT '',
  revocation_url     text NOT NULL DEFAULT '',
  token_auth_method  text NOT NULL DEFAULT 'client_secret_post',
  redirect_uri       text NOT NULL DEFAULT '',
  options            jsonb NOT NULL DEFAULT '{}',
  status             text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'needs_reauth', 'revoked', 'disabled')),
  status_reason      text NOT NULL DEFAULT '',
  failure_count      integer NOT NULL DEFAULT 0,
  last_error         text NOT NULL DEFAULT '',
  next_refresh_at    timestamptz,
  lease_owner        text,
  lease_until        timestamptz,
  refresh_in_flight  boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One authorized account of an app. Connecting the same account again reuses the row.
CREATE TABLE mediax.grants (
  id                 bigserial PRIMARY KEY,
  app_id             bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  account_id         text NOT NULL,
  scopes             text[] NOT NULL DEFAULT '{}',
  refresh_token      text NOT NULL DEFAULT '',
  refresh_expires_at timestamptz,
  status             text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'needs_reauth', 'revoked', 'disabled')),
  status_reason      text NOT NULL DEFAULT '',
  failure_count      integer NOT NULL DEFAULT 0,
  last_error         text NOT NULL DEFAULT '',
  next_refresh_at    timestamptz,
  lease_owner        text,
  lease_until        timestamptz,
  refresh_in_flight  boolean NOT NULL DEFAULT false,
  extra              jsonb NOT NULL DEFAULT '{}',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (app_id, account_id),
  UNIQUE (id, app_id)  -- target of the tokens (grant_id, app_id) foreign key
);

-- The scheduler's start-up query and the janitor scan active rows by due time.
CREATE INDEX grants_next_refresh_idx ON mediax.grants (next_refresh_at)
  WHERE status = 'active' AND next_refresh_at IS NOT NULL;

-- The current access token of an app (grant_id NULL) or of a grant: at most one row each.
CREATE TABLE mediax.tokens (
  id            bigserial PRIMARY KEY,
  app_id        bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  grant_id      bigint,
  access_token  text NOT NULL,
  token_type    text NOT NULL DEFAULT 'Bearer',
  scopes        text[] NOT NULL DEFAULT '{}',
  expires_at    timestamptz NOT NULL,
  refreshed_at  timestamptz NOT NULL DEFAULT now(),
  -- A grant's token must belong to the grant's own app.
  FOREIGN KEY (grant_id, app_id) REFERENCES mediax.grants (id, app_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX tokens_grant_key ON mediax.tokens (grant_id) WHERE grant_id IS NOT NULL;
CREATE UNIQUE INDEX tokens_app_token_key ON mediax.tokens (app_id) WHERE grant_id IS NULL;
CREATE INDEX tokens_app_idx ON mediax.tokens (app_id);

-- OAuth authorization requests in flight: state and PKCE verifier, single use.
CREATE TABLE mediax.auth_requests (
  state          text PRIMARY KEY,
  app_id         bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  code_verifier  text NOT NULL,
  redirect_uri   text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz
);
CREATE INDEX auth_requests_app_idx ON mediax.auth_requests (app_id);
CREATE INDEX auth_requests_expires_idx ON mediax.auth_requests (expires_at);

-- Audit trail. No foreign keys: the history of a deleted app or grant stays readable.
CREATE TABLE mediax.events (
  id        bigserial PRIMARY KEY,
  app_id    bigint,
  grant_id  bigint,
  kind      text NOT NULL,
  detail    jsonb NOT NULL DEFAULT '{}',
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_app_idx ON mediax.events (app_id, id);
CREATE INDEX events_grant_idx ON mediax.events (grant_id, id);

-- What other programs read: the servable tokens — unexpired, of apps and grants that are not
-- revoked or disabled. A grant that needs re-authorization keeps serving its last token until
-- that token expires (Douyin flags grants days before their refresh token dies). Runs with the owner's rights, so
-- GRANT SELECT on this view alone is enough for a reader.
CREATE VIEW mediax.access_tokens AS
SELECT a.name        AS app_name,
       a.platform    AS platform,
       t.grant_id    AS grant_id,
       g.account_id  AS account_id,
       t.access_token,
       t.token_type,
       t.scopes,
       t.expires_at,
       t.refreshed_at
  FROM mediax.tokens t
  JOIN mediax.apps a ON a.id = t.app_id
  LEFT JOIN mediax.grants g ON g.id = t.grant_id
 WHERE ((t.grant_id IS NULL AND a.status IN ('active', 'needs_reauth'))
     OR (t.grant_id IS NOT NULL AND g.status IN ('active', 'needs_reauth')))
   -- A reader never gets an expired token: one that could not be refreshed in time is
   -- absent rather than wrong.
   AND t.expires_at > now();

-- Every change of a token is announced on channel mediax_tokens so readers can reload.
-- The payload names the token but never carries it:
--   {"op":"insert|update|delete","app_id":1,"grant_id":null,"app_name":"x","expires_at":"2026-01-01T00:00:00Z",
--    "by":"<application_name of the writer>"}
CREATE FUNCTION mediax.notify_token_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r mediax.tokens;
  v_app_name text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    r := OLD;
  ELSE
    r := NEW;
  END IF;
  SELECT a.name INTO v_app_name FROM mediax.apps a WHERE a.id = r.app_id;
  PERFORM pg_notify('mediax_tokens', json_build_object(
    'op', lower(TG_OP),
    'app_id', r.app_id,
    'grant_id', r.grant_id,
    'app_name', v_app_name,
    'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    -- The writer's application_name: an instance ignores what it wrote itself.
    'by', current_setting('application_name', true))::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER tokens_notify
  AFTER INSERT OR UPDATE OR DELETE ON mediax.tokens
  FOR EACH ROW EXECUTE FUNCTION mediax.notify_token_change();
