-- WeChat third-party platform (platform "wechat_component", README "## WeChat third-party platform").
--
-- mediax.component_tickets: the latest component_verify_ticket WeChat pushed to an app's event URL
-- (every 10 minutes, valid 12 hours, no pull API). Durable and shared: a restart or another
-- instance must fetch the component token with it. One row per app, replaced only by a ticket with
-- a later CreateTime (pushes may arrive out of order or be retried). The ticket is sealed like
-- every secret (associated data "component_tickets.ticket:<app_id>").
CREATE TABLE mediax.component_tickets (
  app_id       bigint PRIMARY KEY REFERENCES mediax.apps (id) ON DELETE CASCADE,
  ticket       text NOT NULL,
  create_time  timestamptz NOT NULL,  -- CreateTime of the push
  received_at  timestamptz NOT NULL
);
-- A secret-holding table: never the reader's (0004 gives it nothing; said again for the reader).
REVOKE ALL ON mediax.component_tickets FROM mediax_reader;

-- Options that are secrets (wechat_component: message_token, encoding_aes_key,
-- previous_encoding_aes_key): a sealed JSON object ('' = none), associated data
-- "apps.secret_options:<id>" like apps.client_secret. Read only with the app's secrets.
ALTER TABLE mediax.apps ADD COLUMN secret_options text NOT NULL DEFAULT '';

-- The app's own token may be sent differently from its grants' tokens: a third-party platform's
-- component_access_token goes in ?component_access_token=, its authorizers' tokens in
-- ?access_token=. NULL: as token_usage (every platform but wechat_component).
ALTER TABLE mediax.apps DROP CONSTRAINT apps_token_usage_check;
ALTER TABLE mediax.apps ADD CONSTRAINT apps_token_usage_check
  CHECK (token_usage IN ('header:Authorization:Bearer', 'header:access-token', 'query:access_token',
                         'query:component_access_token'));
ALTER TABLE mediax.apps ADD COLUMN app_token_usage text
  CHECK (app_token_usage IN ('header:Authorization:Bearer', 'header:access-token', 'query:access_token',
                             'query:component_access_token'));

-- The view keeps its columns (CREATE OR REPLACE VIEW may not change them); the app-token row
-- (grant_id NULL) now says how the app's own token is sent. The grant to mediax_reader stays.
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
       CASE WHEN t.grant_id IS NULL THEN COALESCE(a.app_token_usage, a.token_usage)
            ELSE a.token_usage END AS token_usage
  FROM mediax.tokens t
  JOIN mediax.apps a ON a.id = t.app_id
  LEFT JOIN mediax.grants g ON g.id = t.grant_id
 WHERE ((t.grant_id IS NULL AND a.status IN ('active', 'needs_reauth'))
     OR (t.grant_id IS NOT NULL AND g.status IN ('active', 'needs_reauth')))
   -- A reader never gets an expired token: one that could not be refreshed in time is
   -- absent rather than wrong.
   AND t.expires_at > now();

-- Webhook events: grant.revoked joins them (the platform says the account withdrew its
-- authorization: WeChat `unauthorized`), queued in the transaction that revokes the grant.
COMMENT ON COLUMN mediax.webhook_deliveries.event IS
  'grant.needs_reauth, app.misconfigured, grant.reauth_due, app.renew_not_permitted, grant.revoked';
