TRUNCATE usage_rollups, usage_periods_stale, usage_daily_rollups, usage_monthly_rollups;
DROP TABLE IF EXISTS staged;
-- 100 batches of 1000 distinct keys each, covering 100k keys (10,000 accounts x 10 features), one hour
CREATE TABLE staged AS
SELECT (k / 1000) AS batch, 'default'::text AS org_id, 'acct-' || (k % 10000) AS billing_account_id, 'feature-' || (k / 10000) AS feature_code,
       'HOUR'::text AS window_size, timestamptz '2026-11-27 10:00Z' AS window_start, timestamptz '2026-11-27 11:00Z' AS window_end,
       1::bigint AS event_count, 1.5::numeric AS quantity_sum, 1.5::numeric AS billable_quantity, 1.5::numeric AS latest_value, 'DELTA'::text AS latest_value_type,
       timestamptz '2026-11-27 10:30Z' AS latest_event_time, md5(k::text) AS latest_event_id, NULL::timestamptz AS latest_absolute_event_time, NULL::text AS latest_absolute_event_id,
       1.5::numeric AS min_value, 1.5::numeric AS max_value, timestamptz '2026-11-27 10:30Z' AS first_event_time, timestamptz '2026-11-27 10:30Z' AS last_event_time,
       now() AS updated_at, 0::numeric AS reverted_quantity, 0::bigint AS revert_count
FROM generate_series(0, 99999) k;
CREATE INDEX ON staged(batch);
ANALYZE staged;
