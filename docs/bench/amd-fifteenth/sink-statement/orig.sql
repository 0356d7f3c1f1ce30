DROP TRIGGER IF EXISTS usage_rollups_updated_mark_periods ON usage_rollups;
CREATE OR REPLACE FUNCTION metering_mark_periods_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_periods_stale AS s (org_id, billing_account_id, feature_code, day_start)
        SELECT DISTINCT org_id, billing_account_id, feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        FROM new_hours ORDER BY 1, 2, 3, 4
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
        FROM old_hours ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_id, billing_account_id, feature_code, day_start) DO UPDATE SET stale_since = s.stale_since WHERE false;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER usage_rollups_updated_mark_periods AFTER UPDATE ON usage_rollups
    REFERENCING OLD TABLE AS old_hours NEW TABLE AS new_hours FOR EACH STATEMENT EXECUTE FUNCTION metering_mark_periods_stale();
