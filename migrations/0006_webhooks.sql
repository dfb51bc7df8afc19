-- Webhooks: at most one per app, and a durable outbox of the events to send to it.
--
-- An event is queued in the transaction that changes the grant or app (a refresh that ends in
-- needs_reauth), so it is neither lost nor sent for a change that rolled back. Any instance may
-- send it: claiming takes a lease (lease_owner, lease_until) on rows picked FOR UPDATE SKIP LOCKED,
-- so each attempt is made by one instance; a lease that runs out (the instance died while sending)
-- makes the row claimable again. Retries wait until next_attempt_at; delivered_at or failed_at
-- (given up after webhook.max_attempts) end a row.
CREATE TABLE mediax.webhooks (
  app_id      bigint PRIMARY KEY REFERENCES mediax.apps (id) ON DELETE CASCADE,
  url         text NOT NULL CHECK (url ~ '^https?://'),
  secret      text NOT NULL,  -- HMAC-SHA256 key of the signature header
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mediax.webhook_deliveries (
  id               bigserial PRIMARY KEY,
  app_id           bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  event            text NOT NULL,   -- "grant.needs_reauth", "app.misconfigured"
  payload          jsonb NOT NULL,  -- the body without delivery_id; never a token or secret
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,     -- NULL once delivered or given up
  lease_owner      text,
  lease_until      timestamptz,
  delivered_at     timestamptz,
  failed_at        timestamptz,
  last_error       text NOT NULL DEFAULT '',
  created_at       timestamptz NOT NULL DEFAULT now()
);
-- What the senders look at: the undelivered rows, by when they are due.
CREATE INDEX webhook_deliveries_due_idx ON mediax.webhook_deliveries (next_attempt_at)
  WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_app_idx ON mediax.webhook_deliveries (app_id, id);
