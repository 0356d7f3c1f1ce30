-- Views for analysts and billing jobs. billable_quantity is what a feature bills on: the sum of the
-- quantities for DELTA features, the latest reported value for ABSOLUTE ones.
-- All windows are UTC. Month arithmetic is done on UTC timestamps without time zone, so the results do
-- not depend on the session's TimeZone setting.

CREATE VIEW usage_hourly AS
SELECT billing_account_id,
       feature_code,
       window_start,
       window_end,
       event_count,
       quantity_sum,
       latest_value,
       latest_value_type,
       latest_event_time,
       latest_event_id,
       min_value,
       max_value,
       first_event_time,
       last_event_time,
       updated_at,
       CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_value ELSE quantity_sum END AS billable_quantity
FROM usage_rollups
WHERE window_size = 'HOUR';

CREATE VIEW usage_daily AS
SELECT billing_account_id,
       feature_code,
       window_start,
       window_end,
       event_count,
       quantity_sum,
       latest_value,
       latest_value_type,
       latest_event_time,
       latest_event_id,
       min_value,
       max_value,
       first_event_time,
       last_event_time,
       updated_at,
       CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_value ELSE quantity_sum END AS billable_quantity
FROM usage_rollups
WHERE window_size = 'DAY';

-- Calendar months (UTC) computed from the daily rows.
CREATE VIEW usage_monthly AS
WITH months AS (
    SELECT billing_account_id,
           feature_code,
           date_trunc('month', window_start AT TIME ZONE 'UTC') AS month_start_utc,
           sum(event_count)::bigint AS event_count,
           sum(quantity_sum) AS quantity_sum,
           (array_agg(latest_value ORDER BY latest_event_time DESC, latest_event_id DESC))[1] AS latest_value,
           (array_agg(latest_value_type ORDER BY latest_event_time DESC, latest_event_id DESC))[1] AS latest_value_type,
           max(latest_event_time) AS latest_event_time,
           (array_agg(latest_event_id ORDER BY latest_event_time DESC, latest_event_id DESC))[1] AS latest_event_id,
           min(min_value) AS min_value,
           max(max_value) AS max_value,
           min(first_event_time) AS first_event_time,
           max(last_event_time) AS last_event_time,
           max(updated_at) AS updated_at,
           count(*)::integer AS days_with_usage
    FROM usage_rollups
    WHERE window_size = 'DAY'
    GROUP BY billing_account_id, feature_code, date_trunc('month', window_start AT TIME ZONE 'UTC')
)
SELECT billing_account_id,
       feature_code,
       month_start_utc AT TIME ZONE 'UTC' AS month_start,
       (month_start_utc + interval '1 month') AT TIME ZONE 'UTC' AS month_end,
       event_count,
       quantity_sum,
       latest_value,
       latest_value_type,
       latest_event_time,
       latest_event_id,
       min_value,
       max_value,
       first_event_time,
       last_event_time,
       updated_at,
       days_with_usage,
       CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_value ELSE quantity_sum END AS billable_quantity
FROM months;

COMMENT ON VIEW usage_hourly IS 'Hourly (UTC) usage per billing account and feature; billable_quantity = sum for DELTA, latest value for ABSOLUTE.';
COMMENT ON VIEW usage_daily IS 'Daily (UTC) usage per billing account and feature; billable_quantity = sum for DELTA, latest value for ABSOLUTE.';
COMMENT ON VIEW usage_monthly IS 'Monthly (UTC calendar month) usage computed from the daily rows; billable_quantity = sum for DELTA, latest value for ABSOLUTE.';
