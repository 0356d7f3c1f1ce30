-- Days and months as tables kept in step with the hours (issue 20: analysts must not pay for throughput).
--
-- Until now usage_daily and usage_monthly folded hours with window functions on every read: "top 10 accounts of a
-- day" sorted every hour of the day, "last month's bill lines for every account" every hour of the month (seconds on
-- a million hours). Now:
-- * usage_daily_rollups holds one row per (tenant, account, feature, UTC day), folded from that day's hours;
--   usage_monthly_rollups one row per UTC month, folded from that month's days. The fold is the one of V5 and
--   DESIGN.md (the latest period part holding an ABSOLUTE bills its billable quantity, later parts add theirs; without
--   an ABSOLUTE, the sum). It composes: folding a month's days gives what folding its hours gives, because a day's
--   billable quantity is its own hours' fold and "holds an ABSOLUTE" carries over.
-- * Statement triggers on usage_rollups refresh the days (and then the months) of every hour a statement inserted,
--   updated or deleted, in the same transaction. So every writer, the sink or an operator's repair, keeps them
--   exact, and an analyst sees an hour and its day and month change together.
-- * usage_daily and usage_monthly keep their names and columns (CREATE OR REPLACE keeps their grants) and read the
--   tables. Other periods still fold hours with metering_billable.
-- Room on every page (fillfactor 70) for the next versions of its rows: a row updated in place on its page (a HOT
-- update) writes no index entry. An hour, its day and its month are rewritten many times while they are current, and
-- no index covers a column that changes, so most updates are HOT. Measured on 5,000 updated hours of 1.5 million:
-- the sink's upsert alone took 207 ms at fillfactor 100 and 125 ms at 70. Existing pages of usage_rollups keep their
-- fill until rewritten (VACUUM FULL), new ones get the room.
ALTER TABLE usage_rollups SET (fillfactor = 70);
--
-- Cost: each statement of the sink re-folds the touched days from their hours (an index range of at most 24 rows
-- each) and the touched months from their days (at most 31), and writes one day row and one month row per touched
-- (account, feature, day). The README's Performance section gives the measured cost.

CREATE TABLE usage_daily_rollups (
    org_id                     text        NOT NULL,
    billing_account_id         text        NOT NULL,
    feature_code               text        NOT NULL,
    window_start               timestamptz NOT NULL,
    window_end                 timestamptz NOT NULL,
    event_count                bigint      NOT NULL,
    quantity_sum               numeric     NOT NULL,
    billable_quantity          numeric     NOT NULL,
    latest_absolute_event_time timestamptz,
    latest_value               numeric     NOT NULL,
    latest_value_type          text        NOT NULL,
    latest_event_time          timestamptz NOT NULL,
    latest_event_id            text        NOT NULL,
    min_value                  numeric     NOT NULL,
    max_value                  numeric     NOT NULL,
    first_event_time           timestamptz NOT NULL,
    last_event_time            timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    hours_with_usage           integer     NOT NULL,
    reverted_quantity          numeric     NOT NULL,
    revert_count               bigint      NOT NULL,
    PRIMARY KEY (org_id, billing_account_id, feature_code, window_start)
) WITH (fillfactor = 70);
-- "top accounts by a feature on a day"
CREATE INDEX usage_daily_rollups_feature_day_idx ON usage_daily_rollups (org_id, feature_code, window_start);

CREATE TABLE usage_monthly_rollups (
    org_id                     text        NOT NULL,
    billing_account_id         text        NOT NULL,
    feature_code               text        NOT NULL,
    month_start                timestamptz NOT NULL,
    month_end                  timestamptz NOT NULL,
    event_count                bigint      NOT NULL,
    quantity_sum               numeric     NOT NULL,
    billable_quantity          numeric     NOT NULL,
    latest_absolute_event_time timestamptz,
    latest_value               numeric     NOT NULL,
    latest_value_type          text        NOT NULL,
    latest_event_time          timestamptz NOT NULL,
    latest_event_id            text        NOT NULL,
    min_value                  numeric     NOT NULL,
    max_value                  numeric     NOT NULL,
    first_event_time           timestamptz NOT NULL,
    last_event_time            timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    days_with_usage            integer     NOT NULL,
    reverted_quantity          numeric     NOT NULL,
    revert_count               bigint      NOT NULL,
    PRIMARY KEY (org_id, billing_account_id, feature_code, month_start)
) WITH (fillfactor = 70);
-- "bill lines of every account for a month", in account order, and "one account this month"
CREATE INDEX usage_monthly_rollups_month_idx ON usage_monthly_rollups (org_id, month_start, billing_account_id, feature_code);

COMMENT ON TABLE usage_daily_rollups IS 'One row per (tenant, billing account, feature, UTC day), folded from its hours by triggers on usage_rollups. Read usage_daily.';
COMMENT ON TABLE usage_monthly_rollups IS 'One row per (tenant, billing account, feature, UTC month), folded from its days by triggers on usage_rollups. Read usage_monthly.';

-- The existing hours' days and months, by the views as they still are.
INSERT INTO usage_daily_rollups SELECT * FROM usage_daily;
INSERT INTO usage_monthly_rollups SELECT * FROM usage_monthly;

-- Re-folds the given (tenant, account, feature, UTC day)s from their hours, and then their months from their days.
-- The arrays are one key each, aligned by position. With hours_removed, a day or month left without hours is deleted.
CREATE FUNCTION metering_refresh_periods(org_ids text[], account_ids text[], feature_codes text[], day_starts timestamptz[],
                                         hours_removed boolean)
    RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    WITH touched AS (
        SELECT DISTINCT * FROM unnest(org_ids, account_ids, feature_codes, day_starts) AS t(org_id, billing_account_id, feature_code, day_start)
    ), hours AS (
        SELECT t.day_start,
               h.*,
               max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
               last_value(h.latest_value) OVER w AS period_latest_value,
               last_value(h.latest_value_type) OVER w AS period_latest_value_type,
               last_value(h.latest_event_id) OVER w AS period_latest_event_id
        FROM touched t
        JOIN usage_rollups h
          ON h.org_id = t.org_id AND h.billing_account_id = t.billing_account_id AND h.feature_code = t.feature_code
         AND h.window_size = 'HOUR' AND h.window_start >= t.day_start AND h.window_start < t.day_start + interval '24 hours'
        WINDOW w AS (PARTITION BY h.org_id, h.billing_account_id, h.feature_code, t.day_start
                     ORDER BY h.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    )
    INSERT INTO usage_daily_rollups AS d
    SELECT org_id,
           billing_account_id,
           feature_code,
           day_start,
           day_start + interval '24 hours', -- hours, not a day: a UTC day has 24 in every session time zone
           sum(event_count)::bigint,
           sum(quantity_sum),
           coalesce(sum(billable_quantity) FILTER (WHERE window_start >= absolute_from OR absolute_from IS NULL), 0),
           max(latest_absolute_event_time),
           max(period_latest_value),
           max(period_latest_value_type),
           max(latest_event_time),
           max(period_latest_event_id),
           min(min_value),
           max(max_value),
           min(first_event_time),
           max(last_event_time),
           max(updated_at),
           count(*)::integer,
           sum(reverted_quantity),
           sum(revert_count)::bigint
    FROM hours
    GROUP BY org_id, billing_account_id, feature_code, day_start
    ON CONFLICT (org_id, billing_account_id, feature_code, window_start) DO UPDATE SET
        window_end = EXCLUDED.window_end,
        event_count = EXCLUDED.event_count,
        quantity_sum = EXCLUDED.quantity_sum,
        billable_quantity = EXCLUDED.billable_quantity,
        latest_absolute_event_time = EXCLUDED.latest_absolute_event_time,
        latest_value = EXCLUDED.latest_value,
        latest_value_type = EXCLUDED.latest_value_type,
        latest_event_time = EXCLUDED.latest_event_time,
        latest_event_id = EXCLUDED.latest_event_id,
        min_value = EXCLUDED.min_value,
        max_value = EXCLUDED.max_value,
        first_event_time = EXCLUDED.first_event_time,
        last_event_time = EXCLUDED.last_event_time,
        updated_at = EXCLUDED.updated_at,
        hours_with_usage = EXCLUDED.hours_with_usage,
        reverted_quantity = EXCLUDED.reverted_quantity,
        revert_count = EXCLUDED.revert_count;

    IF hours_removed THEN
        DELETE FROM usage_daily_rollups d
        USING unnest(org_ids, account_ids, feature_codes, day_starts) AS t(org_id, billing_account_id, feature_code, day_start)
        WHERE d.org_id = t.org_id AND d.billing_account_id = t.billing_account_id AND d.feature_code = t.feature_code
          AND d.window_start = t.day_start
          AND NOT EXISTS (SELECT 1 FROM usage_rollups h
                          WHERE h.org_id = t.org_id AND h.billing_account_id = t.billing_account_id AND h.feature_code = t.feature_code
                            AND h.window_size = 'HOUR' AND h.window_start >= t.day_start AND h.window_start < t.day_start + interval '24 hours');
    END IF;

    WITH touched AS (
        SELECT DISTINCT org_id, billing_account_id, feature_code,
               date_trunc('month', day_start AT TIME ZONE 'UTC') AS month_utc
        FROM unnest(org_ids, account_ids, feature_codes, day_starts) AS t(org_id, billing_account_id, feature_code, day_start)
    ), days AS (
        SELECT t.month_utc,
               d.*,
               max(d.window_start) FILTER (WHERE d.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
               last_value(d.latest_value) OVER w AS period_latest_value,
               last_value(d.latest_value_type) OVER w AS period_latest_value_type,
               last_value(d.latest_event_id) OVER w AS period_latest_event_id
        FROM touched t
        JOIN usage_daily_rollups d
          ON d.org_id = t.org_id AND d.billing_account_id = t.billing_account_id AND d.feature_code = t.feature_code
         AND d.window_start >= t.month_utc AT TIME ZONE 'UTC' AND d.window_start < (t.month_utc + interval '1 month') AT TIME ZONE 'UTC'
        WINDOW w AS (PARTITION BY d.org_id, d.billing_account_id, d.feature_code, t.month_utc
                     ORDER BY d.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    )
    INSERT INTO usage_monthly_rollups AS m
    SELECT org_id,
           billing_account_id,
           feature_code,
           month_utc AT TIME ZONE 'UTC',
           (month_utc + interval '1 month') AT TIME ZONE 'UTC',
           sum(event_count)::bigint,
           sum(quantity_sum),
           coalesce(sum(billable_quantity) FILTER (WHERE window_start >= absolute_from OR absolute_from IS NULL), 0),
           max(latest_absolute_event_time),
           max(period_latest_value),
           max(period_latest_value_type),
           max(latest_event_time),
           max(period_latest_event_id),
           min(min_value),
           max(max_value),
           min(first_event_time),
           max(last_event_time),
           max(updated_at),
           count(*)::integer,
           sum(reverted_quantity),
           sum(revert_count)::bigint
    FROM days
    GROUP BY org_id, billing_account_id, feature_code, month_utc
    ON CONFLICT (org_id, billing_account_id, feature_code, month_start) DO UPDATE SET
        month_end = EXCLUDED.month_end,
        event_count = EXCLUDED.event_count,
        quantity_sum = EXCLUDED.quantity_sum,
        billable_quantity = EXCLUDED.billable_quantity,
        latest_absolute_event_time = EXCLUDED.latest_absolute_event_time,
        latest_value = EXCLUDED.latest_value,
        latest_value_type = EXCLUDED.latest_value_type,
        latest_event_time = EXCLUDED.latest_event_time,
        latest_event_id = EXCLUDED.latest_event_id,
        min_value = EXCLUDED.min_value,
        max_value = EXCLUDED.max_value,
        first_event_time = EXCLUDED.first_event_time,
        last_event_time = EXCLUDED.last_event_time,
        updated_at = EXCLUDED.updated_at,
        days_with_usage = EXCLUDED.days_with_usage,
        reverted_quantity = EXCLUDED.reverted_quantity,
        revert_count = EXCLUDED.revert_count;

    IF hours_removed THEN
        DELETE FROM usage_monthly_rollups m
        USING (SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('month', day_start AT TIME ZONE 'UTC') AS month_utc
               FROM unnest(org_ids, account_ids, feature_codes, day_starts) AS t(org_id, billing_account_id, feature_code, day_start)) t
        WHERE m.org_id = t.org_id AND m.billing_account_id = t.billing_account_id AND m.feature_code = t.feature_code
          AND m.month_start = t.month_utc AT TIME ZONE 'UTC'
          AND NOT EXISTS (SELECT 1 FROM usage_daily_rollups d
                          WHERE d.org_id = t.org_id AND d.billing_account_id = t.billing_account_id AND d.feature_code = t.feature_code
                            AND d.window_start >= t.month_utc AT TIME ZONE 'UTC'
                            AND d.window_start < (t.month_utc + interval '1 month') AT TIME ZONE 'UTC');
    END IF;
END
$$;

-- A trigger names its own transition tables: inserted hours, updated hours (before and after: an UPDATE may move an
-- hour to another key, which the sink never does), deleted hours.
CREATE FUNCTION metering_refresh_periods_of_inserted_hours() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM metering_refresh_periods(array_agg(org_id), array_agg(billing_account_id), array_agg(feature_code),
                                     array_agg(date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), false)
    FROM new_hours
    WHERE window_size = 'HOUR';
    RETURN NULL;
END
$$;

CREATE FUNCTION metering_refresh_periods_of_updated_hours() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM metering_refresh_periods(array_agg(org_id), array_agg(billing_account_id), array_agg(feature_code), array_agg(day_start),
                                     EXISTS (SELECT org_id, billing_account_id, feature_code, window_size, window_start FROM old_hours
                                             EXCEPT
                                             SELECT org_id, billing_account_id, feature_code, window_size, window_start FROM new_hours))
    FROM (SELECT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day_start
          FROM new_hours
          WHERE window_size = 'HOUR'
          UNION
          SELECT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          FROM old_hours
          WHERE window_size = 'HOUR') AS changed;
    RETURN NULL;
END
$$;

CREATE FUNCTION metering_refresh_periods_of_deleted_hours() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM metering_refresh_periods(array_agg(org_id), array_agg(billing_account_id), array_agg(feature_code),
                                     array_agg(date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'), true)
    FROM old_hours
    WHERE window_size = 'HOUR';
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_rollups_inserted_refresh_periods AFTER INSERT ON usage_rollups
    REFERENCING NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_refresh_periods_of_inserted_hours();
CREATE TRIGGER usage_rollups_updated_refresh_periods AFTER UPDATE ON usage_rollups
    REFERENCING OLD TABLE AS old_hours NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_refresh_periods_of_updated_hours();
CREATE TRIGGER usage_rollups_deleted_refresh_periods AFTER DELETE ON usage_rollups
    REFERENCING OLD TABLE AS old_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_refresh_periods_of_deleted_hours();

CREATE OR REPLACE VIEW usage_daily AS
SELECT * FROM usage_daily_rollups;

CREATE OR REPLACE VIEW usage_monthly AS
SELECT * FROM usage_monthly_rollups;

COMMENT ON VIEW usage_daily IS 'Daily (UTC) usage per tenant, billing account and feature, folded from its hours (usage_hourly) by the billable rule.';
COMMENT ON VIEW usage_monthly IS 'Monthly (UTC) usage per tenant, billing account and feature, folded from its days (usage_daily) by the billable rule.';
