-- Per-app daily counts of platform calls with a small quota (WeChat cgi-bin/token: ~2,000 a day;
-- stable_token force_refresh: 20 a day). Shared by every instance; one row per app, kind and UTC day.
CREATE TABLE mediax.call_counts (
  app_id  bigint NOT NULL REFERENCES mediax.apps (id) ON DELETE CASCADE,
  kind    text NOT NULL,
  day     date NOT NULL,
  count   integer NOT NULL CHECK (count >= 0),
  PRIMARY KEY (app_id, kind, day)
);
