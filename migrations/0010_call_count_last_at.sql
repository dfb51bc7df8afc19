-- When the last counted call of a kind was made: WeChat ignores a forced stable_token call made
-- less than 30 s after the previous one, so the daemon keeps the time where every instance sees it.
-- From this migration on, `day` is the platform's own day (WeChat: Beijing time, the option
-- quota_reset_utc_offset_hours), no longer the UTC day: the counts restart when the platform's
-- quota does. Rows written before keep their UTC day; at worst one day's count is off by the hours
-- between the two midnights.
ALTER TABLE mediax.call_counts ADD COLUMN last_at timestamptz;
COMMENT ON COLUMN mediax.call_counts.day IS 'the platform''s day (WeChat: Beijing time), not the UTC day';
COMMENT ON COLUMN mediax.call_counts.last_at IS 'the last counted call of this kind on this day';
