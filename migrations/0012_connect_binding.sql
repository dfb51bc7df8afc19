-- Connect flows bound to the browser that started them (README "### Connect flows bound to the browser").
--
-- mediax.connect_tickets: the one-time links POST /v1/apps/{name}/authorize hands out
-- ({public_url}/connect/start?ticket=…). Only the SHA-256 of a ticket is stored (hex), so a reader of
-- the database cannot open a link; `choices` are the admin's per-connection choices, applied when
-- the link is opened. A ticket is used once (used_at) and expires at expires_at.
CREATE TABLE mediax.connect_tickets (
  ticket_hash  text PRIMARY KEY,
  app_id       bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  choices      jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);
CREATE INDEX connect_tickets_app_idx ON mediax.connect_tickets (app_id);
CREATE INDEX connect_tickets_expires_idx ON mediax.connect_tickets (expires_at);
REVOKE ALL ON mediax.connect_tickets FROM mediax_reader;

-- The SHA-256 (hex) of the __Host-mediax_connect cookie set in the browser that opened the link.
-- The callback is served only to that browser. NULL for requests made before this migration: they
-- are refused (they expire within oauth.state_ttl_seconds anyway; the admin starts again).
ALTER TABLE mediax.auth_requests ADD COLUMN browser_hash text;
