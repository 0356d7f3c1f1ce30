-- Days and months as tables, refreshed in the background and never wrong (issue 20: analysts must not pay for
-- throughput).
--
-- Until now usage_daily and usage_monthly folded hours on every read: "top 10 accounts of a day" sorted every hour of
-- the day, "bill lines of every account for a month" every hour of the month (seconds on a million hours). Keeping
-- day and month tables in the sink's own transaction was tried and cost the writers 3.5x per hour (README). Now:
--
-- * usage_daily_rollups holds one row per (tenant, account, feature, UTC day), folded from its hours;
--   usage_monthly_rollups one row per UTC month, folded from its days. The fold is the one of V5 and DESIGN.md (the
--   latest part of the period holding an ABSOLUTE bills its billable quantity, later parts add theirs; without one,
--   the sum). It composes: a day's billable quantity is the fold of its hours and "holds an ABSOLUTE" carries over,
--   so folding a month's days gives what folding its hours gives.
-- * Every statement that writes hours records the days it touched in usage_periods_stale, in its own transaction
--   (statement triggers below: one small insert per statement, whoever writes: the sink or an operator's repair).
-- * metering_refresh_periods() re-folds stale days and their months into the tables and clears their marks, in a
--   transaction of its own; the sink calls it once a second for a batch of the days stale for at least
--   SINK_PERIOD_REFRESH_INTERVAL. A day that keeps changing is re-folded about once per interval, not once per batch.
-- * usage_daily and usage_monthly read the tables for every period without a stale day, and fold the hours (days)
--   of the stale ones on read. So they are exact at every moment, as before: the refresh only decides how fast they
--   answer. Same names, columns and grants (CREATE OR REPLACE).
--
-- Why the marks cannot lose a change: a writer marks a day in the transaction that changes its hours, and the mark
-- takes a row lock even when the day is already marked (ON CONFLICT DO UPDATE ... WHERE false locks without writing).
-- The refresh first locks the marks it will clear, skipping those a writer holds (SKIP LOCKED; they stay for the next
-- refresh), then folds in later statements, which see every hour committed before the lock; a writer arriving after
-- it waits for the refresh to commit and then marks the day again.

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
-- "bill lines of every account for a month", in account order
CREATE INDEX usage_monthly_rollups_month_idx ON usage_monthly_rollups (org_id, month_start, billing_account_id, feature_code);

CREATE TABLE usage_periods_stale (
    org_id             text        NOT NULL,
    billing_account_id text        NOT NULL,
    feature_code       text        NOT NULL,
    day_start          timestamptz NOT NULL,
    stale_since        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, billing_account_id, feature_code, day_start)
);
-- "top accounts by a feature on a day" while that day is changing
CREATE INDEX usage_periods_stale_feature_day_idx ON usage_periods_stale (org_id, feature_code, day_start);
-- the refresh takes the oldest marks first
CREATE INDEX usage_periods_stale_since_idx ON usage_periods_stale (stale_since);

COMMENT ON TABLE usage_daily_rollups IS 'One row per (tenant, billing account, feature, UTC day), folded from its hours by metering_refresh_periods(); rows of days in usage_periods_stale may be behind. Read usage_daily.';
COMMENT ON TABLE usage_monthly_rollups IS 'One row per (tenant, billing account, feature, UTC month), folded from its days by metering_refresh_periods(); rows of months with a day in usage_periods_stale may be behind. Read usage_monthly.';
COMMENT ON TABLE usage_periods_stale IS 'Days whose hours changed since their row in usage_daily_rollups (and their month''s) was folded; marked by triggers on usage_rollups, cleared by metering_refresh_periods().';

-- The stale days, folded from their hours: V7's usage_daily restricted to the marked days. Set-based (one join, one
-- sort), so a question over many stale days costs what the old view cost; the window partitions by the mark's
-- columns, so a condition on them (tenant, account, feature, day) is applied to the marks before the join.
CREATE VIEW usage_daily_of_stale_days AS
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
FROM (SELECT s.org_id, s.billing_account_id, s.feature_code, s.day_start,
             h.window_start, h.event_count, h.quantity_sum, h.billable_quantity, h.latest_absolute_event_time, h.latest_event_time,
             h.min_value, h.max_value, h.first_event_time, h.last_event_time, h.updated_at, h.reverted_quantity, h.revert_count,
             max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
             last_value(h.latest_value) OVER w AS period_latest_value,
             last_value(h.latest_value_type) OVER w AS period_latest_value_type,
             last_value(h.latest_event_id) OVER w AS period_latest_event_id
      FROM usage_periods_stale s
      JOIN usage_rollups h
        ON h.org_id = s.org_id AND h.billing_account_id = s.billing_account_id AND h.feature_code = s.feature_code
       AND h.window_size = 'HOUR' AND h.window_start >= s.day_start AND h.window_start < s.day_start + interval '24 hours'
      WINDOW w AS (PARTITION BY s.org_id, s.billing_account_id, s.feature_code, s.day_start
                   ORDER BY h.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) hours
GROUP BY org_id, billing_account_id, feature_code, day_start;

CREATE OR REPLACE VIEW usage_daily AS
SELECT d.org_id,
       d.billing_account_id,
       d.feature_code,
       d.window_start,
       d.window_end,
       d.event_count,
       d.quantity_sum,
       d.billable_quantity,
       d.latest_absolute_event_time,
       d.latest_value,
       d.latest_value_type,
       d.latest_event_time,
       d.latest_event_id,
       d.min_value,
       d.max_value,
       d.first_event_time,
       d.last_event_time,
       d.updated_at,
       d.hours_with_usage,
       d.reverted_quantity,
       d.revert_count
FROM usage_daily_rollups d
WHERE NOT EXISTS (SELECT 1 FROM usage_periods_stale s
                  WHERE s.org_id = d.org_id AND s.billing_account_id = d.billing_account_id AND s.feature_code = d.feature_code
                    AND s.day_start = d.window_start)
UNION ALL
SELECT * FROM usage_daily_of_stale_days;

-- The months holding a stale day, folded from their days (usage_daily, exact at every moment), set-based as above.
CREATE VIEW usage_monthly_of_stale_months AS
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
       count(*)::integer AS days_with_usage,
       sum(reverted_quantity) AS reverted_quantity,
       sum(revert_count)::bigint AS revert_count
FROM (SELECT m.org_id, m.billing_account_id, m.feature_code, m.month_utc,
             d.window_start, d.event_count, d.quantity_sum, d.billable_quantity, d.latest_absolute_event_time, d.latest_event_time,
             d.min_value, d.max_value, d.first_event_time, d.last_event_time, d.updated_at, d.reverted_quantity, d.revert_count,
             max(d.window_start) FILTER (WHERE d.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
             last_value(d.latest_value) OVER w AS period_latest_value,
             last_value(d.latest_value_type) OVER w AS period_latest_value_type,
             last_value(d.latest_event_id) OVER w AS period_latest_event_id
      FROM (SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('month', day_start AT TIME ZONE 'UTC') AS month_utc
            FROM usage_periods_stale) m
      JOIN usage_daily d
        ON d.org_id = m.org_id AND d.billing_account_id = m.billing_account_id AND d.feature_code = m.feature_code
       AND d.window_start >= m.month_utc AT TIME ZONE 'UTC' AND d.window_start < (m.month_utc + interval '1 month') AT TIME ZONE 'UTC'
      WINDOW w AS (PARTITION BY m.org_id, m.billing_account_id, m.feature_code, m.month_utc
                   ORDER BY d.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) days
GROUP BY org_id, billing_account_id, feature_code, month_utc;

CREATE OR REPLACE VIEW usage_monthly AS
SELECT m.org_id,
       m.billing_account_id,
       m.feature_code,
       m.month_start,
       m.month_end,
       m.event_count,
       m.quantity_sum,
       m.billable_quantity,
       m.latest_absolute_event_time,
       m.latest_value,
       m.latest_value_type,
       m.latest_event_time,
       m.latest_event_id,
       m.min_value,
       m.max_value,
       m.first_event_time,
       m.last_event_time,
       m.updated_at,
       m.days_with_usage,
       m.reverted_quantity,
       m.revert_count
FROM usage_monthly_rollups m
WHERE NOT EXISTS (SELECT 1 FROM usage_periods_stale s
                  WHERE s.org_id = m.org_id AND s.billing_account_id = m.billing_account_id AND s.feature_code = m.feature_code
                    AND s.day_start >= m.month_start AND s.day_start < m.month_end)
UNION ALL
SELECT * FROM usage_monthly_of_stale_months;

COMMENT ON VIEW usage_daily IS 'Daily (UTC) usage composed from the hours: billable_quantity = the latest hour holding an ABSOLUTE plus the DELTA sums of the later hours (without ABSOLUTE: the sum). Reads usage_daily_rollups, and folds the hours of days changed since (usage_periods_stale): exact at every moment.';
COMMENT ON VIEW usage_monthly IS 'Monthly (UTC calendar month) usage composed from the days, billed like usage_daily. Reads usage_monthly_rollups, and folds the days of months changed since: exact at every moment.';

-- Re-folds up to max_days days that have been stale for at least min_age (and their months) into the tables and
-- clears their marks. Returns how many days it refreshed; 0 when another refresh is running (one at a time, so two
-- never write the same month from different snapshots). VOLATILE: each statement sees what committed before it.
CREATE FUNCTION metering_refresh_periods(max_days integer, min_age interval) RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    orgs     text[];
    accounts text[];
    features text[];
    days     timestamptz[];
    emptied  integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('metering_refresh_periods')) THEN
        RETURN 0;
    END IF;

    SELECT array_agg(org_id), array_agg(billing_account_id), array_agg(feature_code), array_agg(day_start)
    INTO orgs, accounts, features, days
    FROM (SELECT org_id, billing_account_id, feature_code, day_start
          FROM usage_periods_stale
          WHERE stale_since <= now() - min_age
          ORDER BY stale_since
          LIMIT max_days
          FOR UPDATE SKIP LOCKED) claimed;
    IF orgs IS NULL THEN
        RETURN 0;
    END IF;

    -- The fold of usage_daily_of_stale_days, for the claimed days only (a join to the view would fold every stale day).
    INSERT INTO usage_daily_rollups AS d
    SELECT org_id, billing_account_id, feature_code, day_start, day_start + interval '24 hours',
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
    FROM (SELECT k.day_start, h.*,
                 max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
                 last_value(h.latest_value) OVER w AS period_latest_value,
                 last_value(h.latest_value_type) OVER w AS period_latest_value_type,
                 last_value(h.latest_event_id) OVER w AS period_latest_event_id
          FROM unnest(orgs, accounts, features, days) AS k(org_id, billing_account_id, feature_code, day_start)
          JOIN usage_rollups h
            ON h.org_id = k.org_id AND h.billing_account_id = k.billing_account_id AND h.feature_code = k.feature_code
           AND h.window_size = 'HOUR' AND h.window_start >= k.day_start AND h.window_start < k.day_start + interval '24 hours'
          WINDOW w AS (PARTITION BY h.org_id, h.billing_account_id, h.feature_code, k.day_start
                       ORDER BY h.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) hours
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

    -- A day whose hours were all deleted.
    DELETE FROM usage_daily_rollups d
    USING unnest(orgs, accounts, features, days) AS k(org_id, billing_account_id, feature_code, day_start)
    WHERE d.org_id = k.org_id AND d.billing_account_id = k.billing_account_id AND d.feature_code = k.feature_code
      AND d.window_start = k.day_start
      AND NOT EXISTS (SELECT 1 FROM usage_rollups h
                      WHERE h.org_id = k.org_id AND h.billing_account_id = k.billing_account_id AND h.feature_code = k.feature_code
                        AND h.window_size = 'HOUR' AND h.window_start >= k.day_start AND h.window_start < k.day_start + interval '24 hours');
    GET DIAGNOSTICS emptied = ROW_COUNT;

    -- Their months, from the day rows. A month row is the fold of the month's day rows: exact once none of its days is
    -- marked (until then the views fold it from usage_daily, and the refresh of its last marked day folds it again).
    INSERT INTO usage_monthly_rollups AS m
    SELECT org_id, billing_account_id, feature_code, month_utc AT TIME ZONE 'UTC', (month_utc + interval '1 month') AT TIME ZONE 'UTC',
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
    FROM (SELECT k.month_utc, d.*,
                 max(d.window_start) FILTER (WHERE d.latest_absolute_event_time IS NOT NULL) OVER w AS absolute_from,
                 last_value(d.latest_value) OVER w AS period_latest_value,
                 last_value(d.latest_value_type) OVER w AS period_latest_value_type,
                 last_value(d.latest_event_id) OVER w AS period_latest_event_id
          FROM (SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('month', day_start AT TIME ZONE 'UTC') AS month_utc
                FROM unnest(orgs, accounts, features, days) AS k(org_id, billing_account_id, feature_code, day_start)) k
          JOIN usage_daily_rollups d
            ON d.org_id = k.org_id AND d.billing_account_id = k.billing_account_id AND d.feature_code = k.feature_code
           AND d.window_start >= k.month_utc AT TIME ZONE 'UTC' AND d.window_start < (k.month_utc + interval '1 month') AT TIME ZONE 'UTC'
          WINDOW w AS (PARTITION BY d.org_id, d.billing_account_id, d.feature_code, k.month_utc
                       ORDER BY d.window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) month_days
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

    -- A month whose days were all deleted: only where this call deleted a day (a month row always has a day row
    -- otherwise, since a day row only goes with the call that also checks its month).
    IF emptied > 0 THEN
        DELETE FROM usage_monthly_rollups m
        USING (SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('month', day_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start
               FROM unnest(orgs, accounts, features, days) AS k(org_id, billing_account_id, feature_code, day_start)) k
        WHERE m.org_id = k.org_id AND m.billing_account_id = k.billing_account_id AND m.feature_code = k.feature_code
          AND m.month_start = k.month_start
          AND NOT EXISTS (SELECT 1 FROM usage_daily_rollups d
                          WHERE d.org_id = m.org_id AND d.billing_account_id = m.billing_account_id AND d.feature_code = m.feature_code
                            AND d.window_start >= m.month_start AND d.window_start < m.month_end);
    END IF;

    DELETE FROM usage_periods_stale s
    USING unnest(orgs, accounts, features, days) AS k(org_id, billing_account_id, feature_code, day_start)
    WHERE s.org_id = k.org_id AND s.billing_account_id = k.billing_account_id AND s.feature_code = k.feature_code
      AND s.day_start = k.day_start;

    RETURN cardinality(orgs);
END
$$;
COMMENT ON FUNCTION metering_refresh_periods(integer, interval) IS 'Folds up to max_days days stale for at least min_age (oldest first), and their months, into usage_daily_rollups and usage_monthly_rollups; the sink calls it once a second with SINK_PERIOD_REFRESH_BATCH and SINK_PERIOD_REFRESH_INTERVAL. Safe to call by hand at any time.';

-- Marks the days of the hours a statement wrote. One function for the three triggers; each names its own transition
-- tables (an UPDATE marks the days before and after, in case an operator moved an hour). Sorted, so that two writers
-- lock marks in the same order.
CREATE FUNCTION metering_mark_periods_stale() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_periods_stale AS s (org_id, billing_account_id, feature_code, day_start)
        SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM new_hours
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_id, billing_account_id, feature_code, day_start) DO UPDATE SET stale_since = s.stale_since WHERE false;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO usage_periods_stale AS s (org_id, billing_account_id, feature_code, day_start)
        SELECT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM new_hours
        UNION
        SELECT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM old_hours
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_id, billing_account_id, feature_code, day_start) DO UPDATE SET stale_since = s.stale_since WHERE false;
    ELSE
        INSERT INTO usage_periods_stale AS s (org_id, billing_account_id, feature_code, day_start)
        SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM old_hours
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_id, billing_account_id, feature_code, day_start) DO UPDATE SET stale_since = s.stale_since WHERE false;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_rollups_inserted_mark_periods AFTER INSERT ON usage_rollups
    REFERENCING NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_mark_periods_stale();
CREATE TRIGGER usage_rollups_updated_mark_periods AFTER UPDATE ON usage_rollups
    REFERENCING OLD TABLE AS old_hours NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_mark_periods_stale();
CREATE TRIGGER usage_rollups_deleted_mark_periods AFTER DELETE ON usage_rollups
    REFERENCING OLD TABLE AS old_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_mark_periods_stale();

-- Every existing hour's day is stale: the views fold them on read, as before, until the sink's first refreshes fill
-- the tables (or call SELECT metering_refresh_periods(1000, interval '0') by hand, one transaction per call, until it returns 0).
INSERT INTO usage_periods_stale (org_id, billing_account_id, feature_code, day_start)
SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
FROM usage_rollups
WHERE window_size = 'HOUR';
