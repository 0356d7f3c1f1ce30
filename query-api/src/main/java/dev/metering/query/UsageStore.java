package dev.metering.query;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * The SQL of the query API. Every value a request carries is a bind parameter; the statement text is assembled only
 * from fixed fragments chosen by the validated window size and grouping.
 *
 * <p>Billable quantities are composed from the hours by the schema's fold ({@code metering_billable}, V5: an hour holding
 * an ABSOLUTE starts over from its billable quantity, any other hour adds its own), per (account, feature) series and
 * window, in window_start order; grouping over several series then sums the series' results (a fold over the hours of
 * different features or accounts would mix their ABSOLUTE values). The fold is computed like the usage_* views do,
 * with window functions: the sum of the billable quantities of the hours from the series' latest hour holding an
 * ABSOLUTE on. That is the same number as the aggregate's, without a SQL function call per hour or a sort per group.
 */
final class UsageStore {
    private final Jdbi jdbi;

    UsageStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** At most {@code query.limit() + 1} rows, in cursor order, after the query's cursor. */
    List<UsageRow> usage(UsageQuery query) {
        Windows.Size size = query.size();
        boolean total = size == Windows.Size.TOTAL;
        boolean hourly = size == Windows.Size.HOUR;
        // Every answer row composes exactly one (account, feature) series when the grouping or the filters fix both:
        // then the rows are grouped once. Otherwise the series are composed first and their results summed.
        boolean oneSeries = (query.byAccount() || query.accounts().size() == 1) && (query.byFeature() || query.features().size() == 1);
        // Whole UTC days the sink has folded: each day's row of usage_daily stands in for its hours, one row per series and
        // day instead of up to 24. The fold below composes days as it composes hours (a day holding an ABSOLUTE bills from
        // its latest ABSOLUTE hour on), so the answer is the same. While a day in the range is stale the view would fold
        // its hours on read, then this statement folds them again: slower than the hours alone (today, typically).
        boolean fromDays = Windows.wholeUtcDays(size, query.zone(), query.from(), query.to()) && !anyStaleDay(query);
        boolean hoursOfEveryAccountOfFeatures = !fromDays && !query.features().isEmpty() && query.accounts().isEmpty();
        String bucketStart;
        String bucketEnd;
        switch (size) {
            case HOUR -> {
                bucketStart = "h.window_start";
                bucketEnd = "h.window_start + interval '1 hour'";
            }
            case TOTAL -> {
                // one window: constants, so that no sort or group key depends on them
                bucketStart = "CAST(:from AS timestamptz)";
                bucketEnd = "CAST(:to AS timestamptz)";
            }
            default -> {
                // width_bucket finds the window of each hour among the boundaries the API computed in the zone.
                bucketStart = "b.bounds[width_bucket(h.window_start, b.bounds)]";
                bucketEnd = "b.bounds[width_bucket(h.window_start, b.bounds) + 1]";
            }
        }
        List<String> seriesKeys = new ArrayList<>();
        List<String> groupKeys = new ArrayList<>();
        if (!total) {
            seriesKeys.add("bucket_start");
            groupKeys.add("bucket_start");
        }
        seriesKeys.add("billing_account_id");
        seriesKeys.add("feature_code");
        if (query.byAccount()) {
            groupKeys.add("billing_account_id");
        }
        if (query.byFeature()) {
            groupKeys.add("feature_code");
        }

        StringBuilder sql = new StringBuilder("WITH ");
        if (!total && !hourly) {
            // Evaluated once: inlined, the cast of the bound text array (the driver sends varchar[]) would parse every
            // boundary again for every hour.
            sql.append("b AS MATERIALIZED (SELECT CAST(:bounds AS timestamptz[]) AS bounds),\n");
        }
        // The hours of the range. Account and feature in byte order ("C"), the order of the answer and of the cursor,
        // so that one sort serves the window, the grouping and the ORDER BY.
        sql.append("hours AS (\n  SELECT ");
        if (!total) {
            sql.append(bucketStart).append(" AS bucket_start, ").append(bucketEnd).append(" AS bucket_end,\n         ");
        }
        sql.append("h.billing_account_id COLLATE \"C\" AS billing_account_id, h.feature_code COLLATE \"C\" AS feature_code, h.window_start,\n")
                .append("         h.billable_quantity, h.quantity_sum, h.event_count, h.reverted_quantity, h.min_value, h.max_value,\n")
                .append("         h.latest_value, h.latest_value_type, h.latest_event_time, h.latest_absolute_event_time IS NOT NULL AS has_absolute\n")
                .append("  FROM ").append(fromDays ? "usage_daily" : "usage_rollups").append(" h").append(!total && !hourly ? " CROSS JOIN b" : "").append("\n")
                .append("  WHERE h.org_id = :org").append(fromDays ? "" : " AND h.window_size = 'HOUR'").append("\n")
                .append("    AND h.window_start >= CAST(:from AS timestamptz) AND h.window_start < CAST(:to AS timestamptz)\n");
        if (hoursOfEveryAccountOfFeatures) {
            // Implied by the range; lets the planner use the (org, feature, UTC day) index for "all accounts of a feature".
            sql.append("    AND date_trunc('day', h.window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' >= CAST(:from_day AS timestamptz)\n")
                    .append("    AND date_trunc('day', h.window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' < CAST(:to AS timestamptz)\n");
        }
        if (!query.accounts().isEmpty()) {
            sql.append("    AND h.billing_account_id = ANY(:accounts)\n");
        }
        if (!query.features().isEmpty()) {
            sql.append("    AND h.feature_code = ANY(:features)\n");
        }
        if (query.after() != null) {
            // hours before the cursor's window belong to earlier windows, which earlier pages returned
            sql.append("    AND h.window_start >= CAST(:after_start AS timestamptz)\n")
                    // rows of the answer are whole groups of hours: leaving out a group's hours leaves out the row
                    .append("    AND ").append(after(query, bucketStart, "h.billing_account_id COLLATE \"C\"", "h.feature_code COLLATE \"C\"")).append("\n");
        }
        sql.append(")");

        // The fold (metering_billable, V5) with window functions, as the usage_* views do: a window's billable quantity is
        // that of its latest hour holding an ABSOLUTE plus those of the later hours, i.e. the sum over the hours from
        // absolute_from on (all hours without an ABSOLUTE). An HOUR window of a series has one hour: no fold.
        String source = "hours";
        String billable = "sum(billable_quantity)";
        String latestValue = "max(latest_value)";
        String latestValueType = "max(latest_value_type)";
        if (!hourly) {
            List<String> partition = oneSeries ? groupKeys : seriesKeys;
            sql.append(",\nfolded AS (\n")
                    .append("  SELECT hours.*,\n")
                    .append("         max(window_start) FILTER (WHERE has_absolute) OVER w AS absolute_from,\n")
                    // a series' hours are disjoint in time: its latest event is in its last hour
                    .append("         last_value(latest_value) OVER w AS period_latest_value,\n")
                    .append("         last_value(latest_value_type) OVER w AS period_latest_value_type\n")
                    .append("  FROM hours\n")
                    .append("  WINDOW w AS (").append(partition.isEmpty() ? "" : "PARTITION BY " + String.join(", ", partition) + " ")
                    .append("ORDER BY window_start ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)\n)");
            source = "folded";
            billable = "coalesce(sum(billable_quantity) FILTER (WHERE absolute_from IS NULL OR window_start >= absolute_from), 0)";
            latestValue = "max(period_latest_value)";
            latestValueType = "max(period_latest_value_type)";
        }
        String account = query.byAccount() ? "billing_account_id" : "NULL::text";
        String feature = query.byFeature() ? "feature_code" : "NULL::text";
        String outStart = total ? "CAST(:from AS timestamptz)" : "bucket_start";
        String outEnd = total ? "CAST(:to AS timestamptz)" : "max(bucket_end)";
        if (oneSeries) {
            sql.append("\nSELECT ").append(outStart).append(" AS bucket_start, ").append(outEnd).append(" AS bucket_end, ")
                    .append(account).append(" AS billing_account_id, ").append(feature).append(" AS feature_code,\n")
                    .append("       ").append(billable).append(" AS billable_quantity, sum(quantity_sum) AS quantity_sum,")
                    .append(" sum(event_count)::bigint AS event_count, sum(reverted_quantity) AS reverted_quantity,\n")
                    .append("       min(min_value) AS min_value, max(max_value) AS max_value, ").append(latestValue).append(" AS latest_value, ")
                    .append(latestValueType).append(" AS latest_value_type,\n")
                    .append("       max(latest_event_time) AS latest_event_time\n")
                    .append("FROM ").append(source).append("\n");
        } else {
            sql.append(",\nseries AS (\n")
                    .append("  SELECT ").append(total ? "" : "bucket_start, max(bucket_end) AS bucket_end, ").append("billing_account_id, feature_code,\n")
                    .append("         ").append(billable).append(" AS billable_quantity, sum(quantity_sum) AS quantity_sum, sum(event_count) AS event_count,\n")
                    .append("         sum(reverted_quantity) AS reverted_quantity, min(min_value) AS min_value, max(max_value) AS max_value,\n")
                    .append("         ").append(latestValue).append(" AS latest_value, ").append(latestValueType).append(" AS latest_value_type,\n")
                    .append("         max(latest_event_time) AS latest_event_time\n")
                    .append("  FROM ").append(source).append("\n")
                    .append("  GROUP BY ").append(String.join(", ", seriesKeys)).append("\n)\n")
                    .append("SELECT ").append(outStart).append(" AS bucket_start, ").append(outEnd).append(" AS bucket_end, ")
                    .append(account).append(" AS billing_account_id, ").append(feature).append(" AS feature_code,\n")
                    .append("       sum(billable_quantity) AS billable_quantity, sum(quantity_sum) AS quantity_sum, sum(event_count)::bigint AS event_count,\n")
                    .append("       sum(reverted_quantity) AS reverted_quantity, min(min_value) AS min_value, max(max_value) AS max_value,\n")
                    // the latest event of the group: the latest of its series' (byte order of account and feature on a tie)
                    .append("       (array_agg(latest_value ORDER BY latest_event_time DESC, billing_account_id DESC, feature_code DESC))[1] AS latest_value,\n")
                    .append("       (array_agg(latest_value_type ORDER BY latest_event_time DESC, billing_account_id DESC, feature_code DESC))[1] AS latest_value_type,\n")
                    .append("       max(latest_event_time) AS latest_event_time\n")
                    .append("FROM series\n");
        }
        if (groupKeys.isEmpty()) {
            // one total: no row when the range has no hours
            sql.append("HAVING count(*) > 0\n");
        } else {
            sql.append("GROUP BY ").append(String.join(", ", groupKeys)).append("\nORDER BY ").append(String.join(", ", groupKeys)).append("\n");
        }
        sql.append("LIMIT :limit");

        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString())
                    .bind("org", query.org())
                    .bind("from", query.from().toString())
                    .bind("to", query.to().toString())
                    .bind("limit", query.limit() + 1);
            if (!total && !hourly) {
                statement.bindArray("bounds", String.class, Windows.boundaries(size, query.zone(), query.from(), query.to()).stream()
                        .map(Instant::toString).toList());
            }
            if (hoursOfEveryAccountOfFeatures) {
                statement.bind("from_day", query.from().truncatedTo(java.time.temporal.ChronoUnit.DAYS).toString());
            }
            if (!query.accounts().isEmpty()) {
                statement.bindArray("accounts", String.class, query.accounts());
            }
            if (!query.features().isEmpty()) {
                statement.bindArray("features", String.class, query.features());
            }
            if (query.after() != null) {
                statement.bind("after_start", query.after().windowStart().toString());
                if (query.byAccount()) {
                    statement.bind("after_account", query.after().account());
                }
                if (query.byFeature()) {
                    statement.bind("after_feature", query.after().feature());
                }
            }
            return statement.map((rs, ctx) -> new UsageRow(instant(rs, "bucket_start"), instant(rs, "bucket_end"),
                    rs.getString("billing_account_id"), rs.getString("feature_code"), rs.getBigDecimal("billable_quantity"),
                    rs.getBigDecimal("quantity_sum"), rs.getLong("event_count"), rs.getBigDecimal("min_value"), rs.getBigDecimal("max_value"),
                    rs.getBigDecimal("latest_value"), rs.getString("latest_value_type"), instant(rs, "latest_event_time"),
                    rs.getBigDecimal("reverted_quantity"))).list();
        });
    }

    /** Whether a day of the query's range and accounts and features is waiting for the sink's refresh (sink migration V9). */
    private boolean anyStaleDay(UsageQuery query) {
        String sql = "SELECT EXISTS (SELECT 1 FROM usage_periods_stale WHERE org_id = :org"
                + " AND day_start >= CAST(:from AS timestamptz) AND day_start < CAST(:to AS timestamptz)"
                + (query.accounts().isEmpty() ? "" : " AND billing_account_id = ANY(:accounts)")
                + (query.features().isEmpty() ? "" : " AND feature_code = ANY(:features)") + ")";
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql).bind("org", query.org()).bind("from", query.from().toString()).bind("to", query.to().toString());
            if (!query.accounts().isEmpty()) {
                statement.bindArray("accounts", String.class, query.accounts());
            }
            if (!query.features().isEmpty()) {
                statement.bindArray("features", String.class, query.features());
            }
            return statement.mapTo(Boolean.class).one();
        });
    }

    /**
     * Rows strictly after the cursor in (window start, account, feature) order, byte-wise text order as in ORDER BY,
     * over the given expressions of an hour's window start, account and feature (account and feature in "C").
     */
    private static String after(UsageQuery query, String bucketStart, String account, String feature) {
        String tail = null;
        if (query.byFeature()) {
            tail = feature + " > :after_feature";
        }
        if (query.byAccount()) {
            String accountAfter = account + " > :after_account";
            tail = tail == null ? accountAfter
                    : "(" + accountAfter + " OR (" + account + " = :after_account AND " + tail + "))";
        }
        String start = bucketStart + " > CAST(:after_start AS timestamptz)";
        return tail == null ? start : "(" + start + " OR (" + bucketStart + " = CAST(:after_start AS timestamptz) AND " + tail + "))";
    }

    /** The billable quantity (and sums) per feature of one account over [from, to): {@code GET /v1/usage/current}. */
    List<CurrentUsage> current(String org, String account, String feature, Instant from, Instant to) {
        // The fold as in usage(): the hours from the latest one holding an ABSOLUTE on (all without one).
        String sql = """
                SELECT feature_code,
                       coalesce(sum(billable_quantity) FILTER (WHERE absolute_from IS NULL OR window_start >= absolute_from), 0) AS billable_quantity,
                       sum(quantity_sum) AS quantity_sum, sum(event_count)::bigint AS event_count,
                       sum(reverted_quantity) AS reverted_quantity, max(latest_event_time) AS latest_event_time
                FROM (
                  SELECT h.feature_code COLLATE "C" AS feature_code, h.window_start, h.billable_quantity, h.quantity_sum, h.event_count,
                         h.reverted_quantity, h.latest_event_time,
                         max(h.window_start) FILTER (WHERE h.latest_absolute_event_time IS NOT NULL) OVER (PARTITION BY h.feature_code COLLATE "C") AS absolute_from
                  FROM usage_rollups h
                  WHERE h.org_id = :org AND h.billing_account_id = :account AND h.window_size = 'HOUR'
                    AND h.window_start >= CAST(:from AS timestamptz) AND h.window_start < CAST(:to AS timestamptz)
                """ + (feature == null ? "" : "    AND h.feature_code = :feature\n") + """
                ) hours
                GROUP BY feature_code
                ORDER BY feature_code
                """;
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql).bind("org", org).bind("account", account)
                    .bind("from", from.toString()).bind("to", to.toString());
            if (feature != null) {
                statement.bind("feature", feature);
            }
            return statement.map((rs, ctx) -> new CurrentUsage(rs.getString("feature_code"), rs.getBigDecimal("billable_quantity"),
                    rs.getBigDecimal("quantity_sum"), rs.getLong("event_count"), instant(rs, "latest_event_time"),
                    rs.getBigDecimal("reverted_quantity"))).list();
        });
    }

    /**
     * Up to when the stored rollups are complete: the last time the sink stored a batch (it writes its offsets in the same
     * transaction as the rollups). Empty when the sink never stored anything.
     */
    Optional<Instant> asOf() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT max(updated_at) AS as_of FROM sink_offsets")
                .map((rs, ctx) -> Optional.ofNullable(instant(rs, "as_of"))).one());
    }

    /** @param revertedQuantity taken back by reverts; billable and sum are net of it */
    record CurrentUsage(String feature, BigDecimal billableQuantity, BigDecimal quantitySum, long eventCount, Instant latestEventTime,
                        BigDecimal revertedQuantity) {
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}
