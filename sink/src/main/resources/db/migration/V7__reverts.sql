-- Reverts (issue 14): a revert subtracts its amount from the hour of the usage it reverts.
--
-- * reverted_quantity: the sum of the reverts applied to the hour's DELTA usages; revert_count: how many.
-- * quantity_sum and billable_quantity are already NET of reverts (what to bill); the usage as reported is
--   quantity_sum + reverted_quantity. A revert lowers billable_quantity unless an ABSOLUTE applied to the hour after
--   the reverted usage had already overwritten it. The fold (metering_billable) is unchanged.
-- * event_count still counts usages only; event_count + revert_count grows with every update of an hour, so the sink
--   orders the versions of a row by that sum.
-- * The views gain the two columns at the end (CREATE OR REPLACE keeps their grants); days and months sum them.
-- Existing rows had no reverts: 0.

ALTER TABLE usage_rollups
    ADD COLUMN reverted_quantity numeric(50, 12) NOT NULL DEFAULT 0,
    ADD COLUMN revert_count bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT usage_rollups_reverts_check CHECK (reverted_quantity >= 0 AND revert_count >= 0);

COMMENT ON COLUMN usage_rollups.reverted_quantity IS 'Sum of the reverts applied to this hour''s usages; quantity_sum and billable_quantity are net of them.';
COMMENT ON COLUMN usage_rollups.revert_count IS 'Reverts applied to this hour (event_count counts usages only).';

CREATE OR REPLACE VIEW usage_hourly AS
SELECT org_id,
       billing_account_id,
       feature_code,
       window_start,
       window_end,
       event_count,
       quantity_sum,
       billable_quantity,
       latest_absolute_event_time,
       latest_absolute_event_id,
       latest_value,
       latest_value_type,
       latest_event_time,
       latest_event_id,
       min_value,
       max_value,
       first_event_time,
       last_event_time,
       updated_at,
       reverted_quantity,
       revert_count
FROM usage_rollups
WHERE window_size = 'HOUR';

-- A period's hours, each with what its period needs: the start of the latest hour of the period holding an
-- ABSOLUTE (bills from there on) and the latest event of the period, which is in its last hour (an hour's events
-- lie in the hour, so latest by (latest_event_time, latest_event_id) = latest hour). One sort serves the window
-- and the grouping above it.
CREATE OR REPLACE VIEW usage_daily AS
WITH hours AS (
    SELECT h.*,
           date_trunc('day', h.window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day_start,
           max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
           last_value(h.latest_value) OVER w AS period_latest_value,
           last_value(h.latest_value_type) OVER w AS period_latest_value_type,
           last_value(h.latest_event_id) OVER w AS period_latest_event_id
    FROM usage_rollups h
    WHERE h.window_size = 'HOUR'
    WINDOW w AS (PARTITION BY h.org_id, h.billing_account_id, h.feature_code, date_trunc('day', h.window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                 ORDER BY h.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT org_id,
       billing_account_id,
       feature_code,
       day_start AS window_start,
       day_start + interval '24 hours' AS window_end, -- hours, not a day: a UTC day has 24 in every session time zone
       sum(event_count)::bigint AS event_count,
       sum(quantity_sum) AS quantity_sum,
       coalesce(sum(billable_quantity) FILTER (WHERE window_start >= absolute_from OR absolute_from IS NULL), 0) AS billable_quantity,
       max(latest_absolute_event_time) AS latest_absolute_event_time,
       max(period_latest_value) AS latest_value,
       max(period_latest_value_type) AS latest_value_type,
       max(latest_event_time) AS latest_event_time,
       max(period_latest_event_id) AS latest_event_id,
       min(min_value) AS min_value,
       max(max_value) AS max_value,
       min(first_event_time) AS first_event_time,
       max(last_event_time) AS last_event_time,
       max(updated_at) AS updated_at,
       count(*)::integer AS hours_with_usage,
       sum(reverted_quantity) AS reverted_quantity,
       sum(revert_count)::bigint AS revert_count
FROM hours
GROUP BY org_id, billing_account_id, feature_code, day_start;

-- Calendar months (UTC), composed from the hours the same way.
CREATE OR REPLACE VIEW usage_monthly AS
WITH hours AS (
    SELECT h.*,
           date_trunc('month', h.window_start AT TIME ZONE 'UTC') AS month_utc,
           max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
           last_value(h.latest_value) OVER w AS period_latest_value,
           last_value(h.latest_value_type) OVER w AS period_latest_value_type,
           last_value(h.latest_event_id) OVER w AS period_latest_event_id,
           date_trunc('day', h.window_start AT TIME ZONE 'UTC')
               IS DISTINCT FROM lag(date_trunc('day', h.window_start AT TIME ZONE 'UTC')) OVER w AS first_hour_of_day
    FROM usage_rollups h
    WHERE h.window_size = 'HOUR'
    WINDOW w AS (PARTITION BY h.org_id, h.billing_account_id, h.feature_code, date_trunc('month', h.window_start AT TIME ZONE 'UTC')
                 ORDER BY h.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT org_id,
       billing_account_id,
       feature_code,
       month_utc AT TIME ZONE 'UTC' AS month_start,
       (month_utc + interval '1 month') AT TIME ZONE 'UTC' AS month_end,
       sum(event_count)::bigint AS event_count,
       sum(quantity_sum) AS quantity_sum,
       coalesce(sum(billable_quantity) FILTER (WHERE window_start >= absolute_from OR absolute_from IS NULL), 0) AS billable_quantity,
       max(latest_absolute_event_time) AS latest_absolute_event_time,
       max(period_latest_value) AS latest_value,
       max(period_latest_value_type) AS latest_value_type,
       max(latest_event_time) AS latest_event_time,
       max(period_latest_event_id) AS latest_event_id,
       min(min_value) AS min_value,
       max(max_value) AS max_value,
       min(first_event_time) AS first_event_time,
       max(last_event_time) AS last_event_time,
       max(updated_at) AS updated_at,
       count(*) FILTER (WHERE first_hour_of_day)::integer AS days_with_usage,
       sum(reverted_quantity) AS reverted_quantity,
       sum(revert_count)::bigint AS revert_count
FROM hours
GROUP BY org_id, billing_account_id, feature_code, month_utc;


COMMENT ON VIEW usage_hourly IS 'Hourly (UTC) usage per tenant, billing account and feature; billable_quantity = the hour''s running value (ABSOLUTE sets, DELTA adds, a revert subtracts); quantity_sum and billable_quantity are net of reverted_quantity.';
