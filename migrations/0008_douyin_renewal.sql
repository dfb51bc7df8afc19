-- Douyin renewal lifecycle (README "## Douyin").
-- apps.renew_not_permitted_at: since when the platform refuses to renew the app's refresh tokens
-- (Douyin 10004 on oauth/renew_refresh_token/: the app lacks the renew_refresh_token permission).
-- The daemon stops renewing for that app and refreshes every grant until its refresh token dies.
ALTER TABLE mediax.apps ADD COLUMN renew_not_permitted_at timestamptz;

-- grants.reauth_due_at: when the grant's refresh token dies for good (no renewal left or
-- allowed). The grant stays active until then; the account must be connected again before.
-- grants.reauth_notice_for: the reauth_due_at the grant.reauth_due webhook was queued for, so it
-- is sent once per refresh token's life.
ALTER TABLE mediax.grants ADD COLUMN reauth_due_at timestamptz;
ALTER TABLE mediax.grants ADD COLUMN reauth_notice_for timestamptz;

-- The periodic notice query looks only at grants with a date.
CREATE INDEX grants_reauth_due ON mediax.grants (reauth_due_at) WHERE reauth_due_at IS NOT NULL;
