package dev.metering.bench.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The README's four analyst queries (section "Querying usage"), timed on the data a run produced: whatever the
 * pipeline's design, they must stay interactive. Same SQL as the README, with the account and tenant bound.
 */
public final class AnalystQueries {
    /**
     * p50 and p99 of one query over its repetitions as a client sees it (until every column of every row is read), in
     * milliseconds, and the p50 of PostgreSQL's own execution time (EXPLAIN ANALYZE): the rest is transfer and the
     * client's work on the rows.
     */
    public record Timing(String query, int runs, double p50Millis, double p99Millis, int rows, double serverP50Millis) {
    }

    /**
     * Reads every column of a row as the type the driver maps it to, as a billing job reading its lines would (a map
     * per row, Jdbi's mapToMap, cost the client about 15 % more on 700,000 rows; README, "Tenth session").
     */
    private static final RowMapper<Object[]> EVERY_COLUMN = (row, context) -> {
        Object[] columns = new Object[row.getMetaData().getColumnCount()];
        for (int i = 0; i < columns.length; i++) {
            columns[i] = row.getObject(i + 1);
        }
        return columns;
    };

    private static final Pattern EXECUTION_TIME = Pattern.compile("Execution Time: ([0-9.]+) ms");

    static final Map<String, String> QUERIES = new LinkedHashMap<>();
    public static final String BILL_LINES = "bill lines of every account, one month";

    static {
        QUERIES.put("month by feature, one account", """
                SELECT feature_code, billable_quantity, latest_value_type, event_count, last_event_time
                FROM usage_monthly
                WHERE org_id = :org AND billing_account_id = :account
                  AND month_start = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                ORDER BY feature_code""");
        QUERIES.put("top 10 accounts by a feature, one day", """
                SELECT billing_account_id, billable_quantity, event_count
                FROM usage_daily
                WHERE org_id = :org AND feature_code = :feature
                  AND window_start = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                ORDER BY billable_quantity DESC
                LIMIT 10""");
        QUERIES.put("24-hour series, one account and feature", """
                SELECT hour AS window_start, coalesce(u.billable_quantity, 0) AS quantity
                FROM generate_series(date_trunc('hour', now() AT TIME ZONE 'UTC') - interval '23 hours',
                                     date_trunc('hour', now() AT TIME ZONE 'UTC'), interval '1 hour') AS hours(hour_utc)
                CROSS JOIN LATERAL (SELECT hour_utc AT TIME ZONE 'UTC' AS hour) AS h
                LEFT JOIN usage_hourly u ON u.window_start = h.hour AND u.org_id = :org
                      AND u.billing_account_id = :account AND u.feature_code = :feature
                ORDER BY hour""");
        QUERIES.put(BILL_LINES, """
                SELECT billing_account_id, feature_code, billable_quantity
                FROM usage_monthly
                WHERE org_id = :org AND month_start = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                ORDER BY billing_account_id, feature_code""");
    }

    private final Jdbi jdbi;

    public AnalystQueries(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /**
     * Runs every query {@code runs} times (after two unmeasured runs), for the given tenant, account and feature.
     * The "one day" and "one month" queries ask for the current UTC day and month, where the run's events are.
     */
    public List<Timing> time(String org, String account, String feature, int runs) {
        List<Timing> timings = new ArrayList<>();
        for (String query : QUERIES.keySet()) {
            timings.add(time(query, org, account, feature, runs));
        }
        return timings;
    }

    /** Runs one of the queries {@code runs} times (after two unmeasured runs), reading its rows into a list. */
    public Timing time(String query, String org, String account, String feature, int runs) {
        return time(query, org, account, feature, runs, (handle, sql, parameters) -> handle.createQuery(sql)
                .bindMap(parameters)
                .map(EVERY_COLUMN).list().size());
    }

    /**
     * Runs one of the queries {@code runs} times (after two unmeasured runs) as a client that streams its rows: a cursor
     * in a transaction, {@value #STREAM_FETCH_SIZE} rows per fetch, every column of each row read and the row
     * dropped, as a billing job writing its lines out would. Reading a million rows into a list keeps them all alive
     * until the last arrives, and the garbage collector copies them while they do (thirteenth session's GC log).
     */
    public Timing timeStreamed(String query, String org, String account, String feature, int runs) {
        return time(query, org, account, feature, runs, (handle, sql, parameters) -> handle.inTransaction(transaction -> {
            try (Stream<Object[]> rows = transaction.createQuery(sql)
                    .bindMap(parameters)
                    .setFetchSize(STREAM_FETCH_SIZE)
                    .map(EVERY_COLUMN).stream()) {
                int[] count = new int[1];
                rows.forEach(row -> count[0]++);
                return count[0];
            }
        }));
    }

    static final int STREAM_FETCH_SIZE = 10_000;

    /** Reads the query's rows one way and returns how many there were. */
    @FunctionalInterface
    private interface RowReader {
        int read(Handle handle, String sql, Map<String, Object> parameters);
    }

    private Timing time(String query, String org, String account, String feature, int runs, RowReader reader) {
        String sql = QUERIES.get(query);
        if (sql == null) {
            throw new IllegalArgumentException("no analyst query named " + query);
        }
        Map<String, Object> parameters = Map.of("org", org, "account", account, "feature", feature);
        try (Handle handle = jdbi.open()) {
            int rows = 0;
            double[] millis = new double[runs];
            for (int i = -2; i < runs; i++) {
                long start = System.nanoTime();
                rows = reader.read(handle, sql, parameters);
                if (i >= 0) {
                    millis[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            Arrays.sort(millis);
            double[] server = new double[Math.max(3, runs / 5)];
            for (int i = 0; i < server.length; i++) {
                server[i] = executionMillis(handle, sql, parameters);
            }
            Arrays.sort(server);
            return new Timing(query, runs, percentile(millis, 0.50), percentile(millis, 0.99), rows, percentile(server, 0.50));
        }
    }

    /** PostgreSQL's execution time of the query (without per-node timing, whose clock reads would inflate it). */
    private static double executionMillis(Handle handle, String sql, Map<String, Object> parameters) {
        String plan = String.join("\n", handle.createQuery("EXPLAIN (ANALYZE, TIMING OFF) " + sql).bindMap(parameters)
                .mapTo(String.class).list());
        Matcher matcher = EXECUTION_TIME.matcher(plan);
        if (!matcher.find()) {
            throw new IllegalStateException("no execution time in the plan:\n" + plan);
        }
        return Double.parseDouble(matcher.group(1));
    }

    private static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
