-- Issue 21, "the process itself" and secrets bound to their token endpoint (README "Secrets at rest
-- and the process").

-- The reader view as a security barrier: the view's own conditions (not expired, app or grant
-- servable) run before any condition a reader adds. Without it the planner may call a cheap
-- function the reader wrote (a pg_temp function that RAISEs NOTICE its argument) on rows the view
-- leaves out — expired tokens, tokens of revoked grants — and the reader sees them.
-- ALTER VIEW rather than CREATE OR REPLACE: the definition stays whatever the migrations before
-- this one made it. A later CREATE OR REPLACE VIEW of mediax.access_tokens must say
-- WITH (security_barrier) again (PostgreSQL replaces the options with the ones it is given).
ALTER VIEW mediax.access_tokens SET (security_barrier = true);

-- The app's secrets did not open because they were sealed for another token endpoint (or were
-- changed in the database): why, and since when; '' = none. Set by the daemon when it refuses to
-- use the secret (the secret is then never sent), shown by GET /v1/apps/{name} as "misconfigured",
-- counted by mediax_apps_misconfigured; cleared when the secrets are set again through the API.
ALTER TABLE mediax.apps ADD COLUMN misconfigured text NOT NULL DEFAULT '';
ALTER TABLE mediax.apps ADD COLUMN misconfigured_at timestamptz;
