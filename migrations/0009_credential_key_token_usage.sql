-- One credential, one token; and how a consumer sends a token.
--
-- apps.credential_key names the platform credential an app fetches its own (client-credentials)
-- token with: two apps fetching with one credential invalidate each other's tokens (Douyin keeps
-- only the newest two client_tokens, WeChat's cgi-bin/token ends the previous one five minutes
-- after a new fetch). The daemon computes it at registration (daemon/platforms/credential_key.cpp)
-- and a unique index refuses a second app with the same key, whichever instance registers it.
-- NULL for apps that fetch no app token: grants of apps sharing a client id are separate.
ALTER TABLE mediax.apps ADD COLUMN credential_key text;

-- Rows registered before this migration, with the rule of credential_key.cpp. The daemon-wide base
-- URLs of Douyin and WeChat are the same for every app of a database ("-"); an app's own Douyin
-- base_url did not exist before; an OAuth 2.0 app's token endpoint is compared as scheme://host in
-- lower case without trailing '/'.
UPDATE mediax.apps
   SET credential_key = platform || ' ' || CASE
         WHEN platform IN ('douyin', 'wechat') THEN '-'
         WHEN platform = 'google' THEN COALESCE('sub=' || NULLIF(options->>'subject', ''), '-')
         ELSE COALESCE(NULLIF(lower(substring(rtrim(token_url, '/') FROM '^[^:/?#]+://[^/?#]*'))
                              || substring(rtrim(token_url, '/') FROM '^[^:/?#]+://[^/?#]*(.*)$'), ''),
                       NULLIF(rtrim(token_url, '/'), ''), '-')
       END || ' ' || client_id
 WHERE client_credentials;

-- A database may hold such apps already (nothing stopped them before). The migration must not
-- fail on them: the first registered keeps the key (its registration is the one that would have
-- succeeded), the later ones lose it and are named in a warning and in mediax.events
-- ("credential_in_use") for the admin to delete or move to another credential. Until then they go
-- on fetching as before.
WITH ranked AS (
  SELECT id, name, credential_key,
         first_value(name) OVER (PARTITION BY credential_key ORDER BY id) AS holder,
         row_number() OVER (PARTITION BY credential_key ORDER BY id) AS n
    FROM mediax.apps
   WHERE credential_key IS NOT NULL
), later AS (
  UPDATE mediax.apps a SET credential_key = NULL
    FROM ranked r
   WHERE a.id = r.id AND r.n > 1
  RETURNING a.id, r.name, r.holder
)
INSERT INTO mediax.events (app_id, kind, detail)
SELECT id, 'credential_in_use',
       json_build_object('holder', holder,
                         'message', 'app ''' || name || ''' fetches its app token with the credential of app '''
                                    || holder || ''': each invalidates the other''s tokens; delete one')::jsonb
  FROM later;

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT a.name, e.detail->>'holder' AS holder
             FROM mediax.events e JOIN mediax.apps a ON a.id = e.app_id
            WHERE e.kind = 'credential_in_use' AND a.credential_key IS NULL AND a.client_credentials LOOP
    RAISE WARNING 'app "%" fetches its app token with the credential of app "%": each invalidates the other''s tokens; delete one of them', r.name, r.holder;
  END LOOP;
END
$$;

CREATE UNIQUE INDEX apps_credential_key ON mediax.apps (credential_key) WHERE credential_key IS NOT NULL;

-- How the app's tokens are sent to the platform's APIs (daemon/platforms/token_usage.cpp): set at
-- registration, so the view reads a column instead of knowing platforms.
ALTER TABLE mediax.apps ADD COLUMN token_usage text NOT NULL DEFAULT 'header:Authorization:Bearer'
  CHECK (token_usage IN ('header:Authorization:Bearer', 'header:access-token', 'query:access_token'));
UPDATE mediax.apps SET token_usage = 'header:access-token' WHERE platform = 'douyin';
UPDATE mediax.apps SET token_usage = 'query:access_token' WHERE platform = 'wechat';
-- The daemon always says which: no default that could mislabel a platform's app.
ALTER TABLE mediax.apps ALTER COLUMN token_usage DROP DEFAULT;

-- Douyin and WeChat name no token_type: their tokens were stored as 'Bearer' only because the
-- daemon filled it in. They are not (Douyin wants an access-token header, WeChat a query parameter).
UPDATE mediax.tokens t SET token_type = ''
  FROM mediax.apps a
 WHERE a.id = t.app_id AND a.platform IN ('douyin', 'wechat') AND t.token_type <> '';
ALTER TABLE mediax.tokens ALTER COLUMN token_type SET DEFAULT '';

-- The view gains token_usage as its last column (CREATE OR REPLACE VIEW may only add columns at
-- the end; readers selecting by name or position see what they saw before). The grant to
-- mediax_reader stays with the view.
CREATE OR REPLACE VIEW mediax.access_tokens AS
SELECT a.name        AS app_name,
       a.platform    AS platform,
       t.grant_id    AS grant_id,
       g.account_id  AS account_id,
       t.access_token,
       t.token_type,
       t.scopes,
       t.expires_at,
       t.refreshed_at,
       a.token_usage AS token_usage
  FROM mediax.tokens t
  JOIN mediax.apps a ON a.id = t.app_id
  LEFT JOIN mediax.grants g ON g.id = t.grant_id
 WHERE ((t.grant_id IS NULL AND a.status IN ('active', 'needs_reauth'))
     OR (t.grant_id IS NOT NULL AND g.status IN ('active', 'needs_reauth')))
   -- A reader never gets an expired token: one that could not be refreshed in time is
   -- absent rather than wrong.
   AND t.expires_at > now();
