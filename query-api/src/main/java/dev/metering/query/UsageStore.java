package dev.metering.query;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * The SQL of the query API. Every value a request carries is a bind parameter; the statement text is assembled only
 * from fixed fragments chosen by the validated window size and grouping.
 *
 * <p>Billable quantities are composed from the hours with the schema's {@code metering_billable} aggregate (V5), per
 * (account, feature) series and window, in window_start order; grouping over several series then sums the series'
 * results (a fold over the hours of different features or accounts would mix their ABSOLUTE values).
 */
final class UsageStore {
    private final Jdbi jdbi;

    UsageStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** At most {@code query.limit() + 1} rows, in cursor order, after the query's cursor. */
    List<UsageRow> usage(UsageQuery query) {
        String bucketStart;
        String bucketEnd;
        if (query.size() == Windows.Size.HOUR) {
            bucketStart = "h.window_start";
            bucketEnd = "h.window_start + interval '1 hour'";
        } else {
            // width_bucket finds the window of each hour among the boundaries the API computed in the zone.
            bucketStart = "b.bounds[width_bucket(h.window_start, b.bounds)]";
            bucketEnd = "b.bounds[width_bucket(h.window_start, b.bounds) + 1]";
        }
        StringBuilder sql = new StringBuilder()
                .append("WITH b AS (SELECT CAST(:bounds AS timestamptz[]) AS bounds),\n")
                .append("series AS (\n")
                .append("  SELECT ").append(bucketStart).append(" AS bucket_start, ").append(bucketEnd).append(" AS bucket_end,\n")
                .append("         h.billing_account_id, h.feature_code,\n")
                .append("         metering_billable(h.latest_absolute_event_time IS NOT NULL, h.billable_quantity ORDER BY h.window_start) AS billable_quantity,\n")
                .append("         sum(h.quantity_sum) AS quantity_sum, sum(h.event_count) AS event_count, sum(h.reverted_quantity) AS reverted_quantity,\n")
                .append("         min(h.min_value) AS min_value, max(h.max_value) AS max_value,\n")
                // a series' hours are disjoint in time: its latest event is in its last hour
                .append("         (array_agg(h.latest_value ORDER BY h.window_start DESC))[1] AS latest_value,\n")
                .append("         (array_agg(h.latest_value_type ORDER BY h.window_start DESC))[1] AS latest_value_type,\n")
                .append("         max(h.latest_event_time) AS latest_event_time\n")
                .append("  FROM usage_rollups h CROSS JOIN b\n")
                .append("  WHERE h.org_id = :org AND h.window_size = 'HOUR'\n")
                .append("    AND h.window_start >= CAST(:from AS timestamptz) AND h.window_start < CAST(:to AS timestamptz)\n");
        if (!query.features().isEmpty() && query.accounts().isEmpty()) {
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
            sql.append("    AND h.window_start >= CAST(:after_start AS timestamptz)\n");
        }
        sql.append("  GROUP BY 1, 2, h.billing_account_id, h.feature_code\n)\n");

        String account = query.byAccount() ? "s.billing_account_id" : "NULL::text";
        String feature = query.byFeature() ? "s.feature_code" : "NULL::text";
        sql.append("SELECT s.bucket_start, s.bucket_end, ").append(account).append(" AS billing_account_id, ").append(feature).append(" AS feature_code,\n")
                .append("       sum(s.billable_quantity) AS billable_quantity, sum(s.quantity_sum) AS quantity_sum, sum(s.event_count)::bigint AS event_count,\n")
                .append("       sum(s.reverted_quantity) AS reverted_quantity,\n")
                .append("       min(s.min_value) AS min_value, max(s.max_value) AS max_value,\n")
                .append("       (array_agg(s.latest_value ORDER BY s.latest_event_time DESC, s.billing_account_id COLLATE \"C\" DESC, s.feature_code COLLATE \"C\" DESC))[1] AS latest_value,\n")
                .append("       (array_agg(s.latest_value_type ORDER BY s.latest_event_time DESC, s.billing_account_id COLLATE \"C\" DESC, s.feature_code COLLATE \"C\" DESC))[1] AS latest_value_type,\n")
                .append("       max(s.latest_event_time) AS latest_event_time\n")
                .append("FROM series s\n");
        if (query.after() != null) {
            sql.append("WHERE ").append(after(query)).append("\n");
        }
        sql.append("GROUP BY s.bucket_start, s.bucket_end");
        StringBuilder order = new StringBuilder("s.bucket_start");
        if (query.byAccount()) {
            sql.append(", s.billing_account_id");
            order.append(", s.billing_account_id COLLATE \"C\"");
        }
        if (query.byFeature()) {
            sql.append(", s.feature_code");
            order.append(", s.feature_code COLLATE \"C\"");
        }
        sql.append("\nORDER BY ").append(order).append("\nLIMIT :limit");

        List<String> bounds = Windows.boundaries(query.size() == Windows.Size.HOUR ? Windows.Size.TOTAL : query.size(), query.zone(),
                query.from(), query.to()).stream().map(Instant::toString).toList();
        return jdbi.withHandle(handle -> {
            Query statement = handle.createQuery(sql.toString())
                    .bindArray("bounds", String.class, bounds)
                    .bind("org", query.org())
                    .bind("from", query.from().toString())
                    .bind("to", query.to().toString())
                    .bind("limit", query.limit() + 1);
            if (!query.features().isEmpty() && query.accounts().isEmpty()) {
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

    /** Rows strictly after the cursor in (window start, account, feature) order, byte-wise text order as in ORDER BY. */
    private static String after(UsageQuery query) {
        String tail = null;
        if (query.byFeature()) {
            tail = "s.feature_code COLLATE \"C\" > :after_feature";
        }
        if (query.byAccount()) {
            String accountAfter = "s.billing_account_id COLLATE \"C\" > :after_account";
            tail = tail == null ? accountAfter
                    : "(" + accountAfter + " OR (s.billing_account_id = :after_account AND " + tail + "))";
        }
        String start = "s.bucket_start > CAST(:after_start AS timestamptz)";
        return tail == null ? start : "(" + start + " OR (s.bucket_start = CAST(:after_start AS timestamptz) AND " + tail + "))";
    }

    /** The billable quantity (and sums) per feature of one account over [from, to): {@code GET /v1/usage/current}. */
    List<CurrentUsage> current(String org, String account, String feature, Instant from, Instant to) {
        String sql = """
                SELECT h.feature_code,
                       metering_billable(h.latest_absolute_event_time IS NOT NULL, h.billable_quantity ORDER BY h.window_start) AS billable_quantity,
                       sum(h.quantity_sum) AS quantity_sum, sum(h.event_count)::bigint AS event_count,
                       sum(h.reverted_quantity) AS reverted_quantity, max(h.latest_event_time) AS latest_event_time
                FROM usage_rollups h
                WHERE h.org_id = :org AND h.billing_account_id = :account AND h.window_size = 'HOUR'
                  AND h.window_start >= CAST(:from AS timestamptz) AND h.window_start < CAST(:to AS timestamptz)
                """ + (feature == null ? "" : "  AND h.feature_code = :feature\n") + """
                GROUP BY h.feature_code
                ORDER BY h.feature_code COLLATE "C"
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
