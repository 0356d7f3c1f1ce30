package dev.metering.bench.baseline;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * The table a team would otherwise write usage into: one row per account, feature and hour, bumped by an
 * upsert per event. No dedupe, no late-event rule, no daily windows: it is the floor, not a competitor.
 */
public interface NaiveUsageTable {
    @SqlUpdate("""
            CREATE TABLE IF NOT EXISTS bench_naive_usage (
                billing_account_id text NOT NULL,
                feature_code text NOT NULL,
                window_start timestamptz NOT NULL,
                quantity numeric(38, 12) NOT NULL,
                PRIMARY KEY (billing_account_id, feature_code, window_start))""")
    void create();

    @SqlUpdate("DROP TABLE IF EXISTS bench_naive_usage")
    void drop();

    @SqlUpdate("""
            INSERT INTO bench_naive_usage (billing_account_id, feature_code, window_start, quantity)
            VALUES (:account, :feature, date_trunc('hour', CAST(:eventTime AS timestamptz), 'UTC'), :quantity)
            ON CONFLICT (billing_account_id, feature_code, window_start)
            DO UPDATE SET quantity = bench_naive_usage.quantity + EXCLUDED.quantity""")
    void add(String account, String feature, OffsetDateTime eventTime, long quantity);

    @SqlQuery("SELECT coalesce(sum(quantity), 0) FROM bench_naive_usage")
    BigDecimal total();
}
