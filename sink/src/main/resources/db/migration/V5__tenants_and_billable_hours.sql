-- Tenants and Kinde's "absolute overrides the current usage" (DESIGN.md, issues 13 and 19).
--
-- * Every rollup belongs to a tenant: org_id is the first column of the primary key and of every index, and of
--   every view. Existing rows belong to the default tenant.
-- * The aggregator emits UTC hours only. An hour carries billable_quantity (its running value: an ABSOLUTE sets
--   it, a DELTA adds to it, in acceptance order) and the applied ABSOLUTE with the greatest (event time, event id)
--   as latest_absolute_event_time / latest_absolute_event_id (null: the hour has no ABSOLUTE).
-- * Days, months and any other period are composed from hours here, by one fold over the period's hours in
--   window_start order: acc = hour has an ABSOLUTE ? hour.billable_quantity : acc + hour.billable_quantity (from 0),
--   i.e. the billable quantity of the latest hour holding an ABSOLUTE plus the billable quantities (DELTA sums) of
--   the later hours; without an ABSOLUTE the sum. DAY rows of the old aggregator are deleted (their hours are here).
-- * Sums are numeric(50,12): 38 integer digits, so no sequence of valid events (26 integer digits each) overflows.
--
-- Legacy hours (written before this version) did not record the order in which their events were applied, so
-- their billable_quantity is the best approximation the stored columns allow: the latest value when the hour's
-- latest event was an ABSOLUTE (what the views billed until now), else the DELTA sum; and the hour counts as
-- holding an ABSOLUTE exactly when its latest event was one. Replaying usage-events through the new aggregator
-- recomputes them exactly.

DROP VIEW usage_monthly;
DROP VIEW usage_daily;
DROP VIEW usage_hourly;

DELETE FROM usage_rollups WHERE window_size = 'DAY';

ALTER TABLE usage_rollups
    ADD COLUMN org_id text NOT NULL DEFAULT 'default',
    ADD COLUMN billable_quantity numeric(50, 12),
    ADD COLUMN latest_absolute_event_time timestamptz,
    ADD COLUMN latest_absolute_event_id text,
    ALTER COLUMN quantity_sum TYPE numeric(50, 12);

UPDATE usage_rollups
SET billable_quantity = CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_value ELSE quantity_sum END,
    latest_absolute_event_time = CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_event_time END,
    latest_absolute_event_id = CASE latest_value_type WHEN 'ABSOLUTE' THEN latest_event_id END;

ALTER TABLE usage_rollups
    ALTER COLUMN billable_quantity SET NOT NULL,
    DROP CONSTRAINT usage_rollups_window_size_check,
    ADD CONSTRAINT usage_rollups_window_size_check CHECK (window_size = 'HOUR'),
    ADD CONSTRAINT usage_rollups_hour_check CHECK (window_end = window_start + interval '1 hour'),
    ADD CONSTRAINT usage_rollups_latest_absolute_check CHECK ((latest_absolute_event_time IS NULL) = (latest_absolute_event_id IS NULL)),
    DROP CONSTRAINT usage_rollups_pkey,
    ADD PRIMARY KEY (org_id, billing_account_id, feature_code, window_size, window_start);

-- "usage of one account this month, by feature": tenant + account + time range over all features.
DROP INDEX usage_rollups_account_window_idx;
CREATE INDEX usage_rollups_account_window_idx ON usage_rollups (org_id, billing_account_id, window_start);
-- "top accounts by a feature yesterday": tenant + feature + UTC day over all accounts. The expression is the one
-- usage_daily groups by, so a condition on usage_daily.window_start becomes an index condition.
DROP INDEX usage_rollups_feature_window_idx;
CREATE INDEX usage_rollups_feature_day_idx ON usage_rollups
    (org_id, feature_code, (date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), billing_account_id, window_start);

COMMENT ON TABLE usage_rollups IS 'One row per (tenant, billing account, feature, UTC hour); written only by the metering sink. Analysts read the usage_* views.';
COMMENT ON COLUMN usage_rollups.billable_quantity IS 'The hour''s running value: an ABSOLUTE sets it (unless a later-stamped ABSOLUTE was applied), a DELTA adds to it. Without ABSOLUTE events: quantity_sum.';
COMMENT ON COLUMN usage_rollups.latest_absolute_event_time IS 'Event time of the applied ABSOLUTE with the greatest (event_time, event_id); null when the hour has none. Longer periods bill from the latest hour that has one.';

-- The fold for any period an analyst picks (all hours of a range, several days, ...):
--   SELECT metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) FROM usage_hourly WHERE ...
-- The views below compute the same with window functions, which is several times faster than calling a SQL
-- function per hour.
CREATE FUNCTION metering_billable_step(accumulated numeric, has_absolute boolean, billable numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN has_absolute THEN billable ELSE accumulated + billable END $$;

CREATE AGGREGATE metering_billable(has_absolute boolean, billable numeric) (
    SFUNC = metering_billable_step,
    STYPE = numeric,
    INITCOND = '0',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE metering_billable(boolean, numeric) IS 'Billable quantity of a period from its hours, in window_start order (ORDER BY window_start): the latest hour holding an ABSOLUTE plus the later hours.';

-- All windows are UTC. Day and month arithmetic is done on UTC timestamps without time zone, so the results do
-- not depend on the session's TimeZone setting.

CREATE VIEW usage_hourly AS
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
       updated_at
FROM usage_rollups
WHERE window_size = 'HOUR';

-- A period's hours, each with what its period needs: the start of the latest hour of the period holding an
-- ABSOLUTE (bills from there on) and the latest event of the period, which is in its last hour (an hour's events
-- lie in the hour, so latest by (latest_event_time, latest_event_id) = latest hour). One sort serves the window
-- and the grouping above it.
CREATE VIEW usage_daily AS
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
       count(*)::integer AS hours_with_usage
FROM hours
GROUP BY org_id, billing_account_id, feature_code, day_start;

-- Calendar months (UTC), composed from the hours the same way.
CREATE VIEW usage_monthly AS
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
       count(*) FILTER (WHERE first_hour_of_day)::integer AS days_with_usage
FROM hours
GROUP BY org_id, billing_account_id, feature_code, month_utc;

COMMENT ON VIEW usage_hourly IS 'Hourly (UTC) usage per tenant, billing account and feature; billable_quantity = the hour''s running value (ABSOLUTE sets, DELTA adds).';
COMMENT ON VIEW usage_daily IS 'Daily (UTC) usage composed from the hours: billable_quantity = the latest hour holding an ABSOLUTE plus the DELTA sums of the later hours (without ABSOLUTE: the sum).';
COMMENT ON VIEW usage_monthly IS 'Monthly (UTC calendar month) usage composed from the hours, billed like usage_daily.';

-- The analyst role (V3) reads the recreated views; re-grant when the role exists (see V3 for when it may not).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metering_analyst') THEN
        GRANT SELECT ON usage_hourly, usage_daily, usage_monthly TO metering_analyst;
    END IF;
END
$$;
