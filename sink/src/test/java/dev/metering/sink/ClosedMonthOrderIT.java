package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.SinkConfig.PeriodRefresh;
import dev.metering.sink.periods.PeriodRefresher;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.BatchHooks;
import dev.metering.sink.store.HookedStores;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.RollupRow;
import dev.metering.sink.store.RollupStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Closed months are rewritten in account order (migration V11) without changing a figure: the month rows of a closed
 * month, first written in the order their accounts were used, lie in account order on disk afterwards and the views
 * answer exactly what they answered before; the current month and a closed month that still has a stale day are left
 * alone, and a month is rewritten once. Afterwards the month's bill lines are read from the month index alone (V12).
 */
class ClosedMonthOrderIT {
    private static final String CLOSED_MONTH = "2025-03-01T00:00:00Z";
    private static final int ACCOUNTS = 120;
    private static final String[] FEATURES = {"api_calls", "seats", "storage"};
    private static PostgresDatabase database;
    private static RollupStore store;
    private static final TopicPartition PARTITION = new TopicPartition("usage-rollups", 0);
    private static Long nextOffset;

    @BeforeAll
    static void migrate() {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
        store = HookedStores.withHooks(database.dataSource(), "closed-month-order", new BatchHooks() {
        });
    }

    @AfterAll
    static void close() {
        if (database != null) {
            database.close();
        }
    }

    @Test
    void closedMonthsAreRewrittenInAccountOrderOnceWithTheSameFigures() throws SQLException {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PeriodRefresher refresher = new PeriodRefresher(database.dataSource(), new PeriodRefresh(Duration.ofSeconds(30), 50), Duration.ofMinutes(10), registry);
        // The closed month, written and refreshed a few accounts at a time in random order, as traffic would.
        List<Integer> accounts = new ArrayList<>();
        for (int i = 0; i < ACCOUNTS; i++) {
            accounts.add(i);
        }
        Collections.shuffle(accounts, new Random(7));
        Instant closedMonth = Instant.parse(CLOSED_MONTH);
        for (int from = 0; from < ACCOUNTS; from += 10) {
            List<RollupRow> rows = new ArrayList<>();
            for (int account : accounts.subList(from, from + 10)) {
                for (String feature : FEATURES) {
                    rows.add(hour("default", "acct-" + account, feature, closedMonth.plus(Duration.ofHours(account % 48))));
                }
            }
            write(rows);
            refresher.refreshStale(Duration.ZERO);
        }
        // The current month (not closed), and another tenant's closed month with a day still stale.
        write(List.of(hour("default", "acct-now", "api_calls", Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(1)))));
        refresher.refreshStale(Duration.ZERO);
        write(List.of(hour("other-org", "acct-b", "seats", closedMonth.plus(Duration.ofDays(3))),
                hour("other-org", "acct-a", "seats", closedMonth.plus(Duration.ofDays(4)))));
        refresher.refreshStale(Duration.ZERO);
        write(List.of(hour("other-org", "acct-a", "api_calls", closedMonth.plus(Duration.ofDays(5)))));

        List<String> monthlyBefore = lines("SELECT usage_monthly::text FROM usage_monthly ORDER BY 1");
        List<String> dailyBefore = lines("SELECT usage_daily::text FROM usage_daily ORDER BY 1");
        assertThat(onDisk("default", CLOSED_MONTH)).as("written in the order accounts were used").isNotEqualTo(inAccountOrder("default", CLOSED_MONTH));

        long moved = refresher.orderClosedMonths();

        assertThat(moved).as("rows of the one closed month without a stale day").isEqualTo((long) ACCOUNTS * FEATURES.length);
        assertThat(onDisk("default", CLOSED_MONTH)).hasSize(ACCOUNTS * FEATURES.length).isEqualTo(inAccountOrder("default", CLOSED_MONTH));
        assertThat(lines("SELECT usage_monthly::text FROM usage_monthly ORDER BY 1")).isEqualTo(monthlyBefore);
        assertThat(lines("SELECT usage_daily::text FROM usage_daily ORDER BY 1")).isEqualTo(dailyBefore);
        assertThat(billLinesPlan(CLOSED_MONTH)).as("the README's bill lines of the rewritten (and vacuumed) month, from the index alone")
                .contains("Index Only Scan using usage_monthly_rollups_month_idx").contains("Heap Fetches: 0");
        assertThat(lines("SELECT org_id || ' ' || month_start::text || ' ' || rows_ordered FROM usage_months_in_order"))
                .containsExactly("default 2025-03-01 00:00:00+00 " + ACCOUNTS * FEATURES.length);
        assertThat(refresher.orderClosedMonths()).as("nothing left: the current month is open, the other tenant's has a stale day").isZero();
        assertThat(registry.timer("sink.periods.month.vacuum").count()).as("vacuumed after the rewrite, not when nothing was rewritten").isEqualTo(1);

        refresher.refreshStale(Duration.ZERO);
        List<String> otherBefore = lines("SELECT usage_monthly::text FROM usage_monthly WHERE org_id = 'other-org' ORDER BY 1");
        assertThat(refresher.orderClosedMonths()).as("the other tenant's month, once its last day was refreshed").isEqualTo(3);
        assertThat(onDisk("other-org", CLOSED_MONTH)).containsExactly("acct-a api_calls", "acct-a seats", "acct-b seats");
        assertThat(lines("SELECT usage_monthly::text FROM usage_monthly WHERE org_id = 'other-org' ORDER BY 1")).isEqualTo(otherBefore);
        assertThat(refresher.orderClosedMonths()).as("a month is rewritten once").isZero();
        assertThat(registry.timer("sink.periods.month.vacuum").count()).isEqualTo(2);
    }

    private static RollupRow hour(String org, String account, String feature, Instant start) {
        Instant eventTime = start.plusSeconds(90);
        BigDecimal quantity = BigDecimal.valueOf(Math.floorMod(account.hashCode(), 1000) + 1000, 2);
        return new RollupRow(org, account, feature, "HOUR", start, start.plus(Duration.ofHours(1)), 3, quantity, quantity, quantity, "DELTA",
                eventTime, "e-" + account, null, null, BigDecimal.ONE, quantity, start, eventTime, eventTime, BigDecimal.ZERO, 0);
    }

    private static void write(List<RollupRow> rows) {
        Batch.Builder batch = new Batch.Builder();
        long offset = nextOffset == null ? 0 : nextOffset;
        for (RollupRow row : rows) {
            batch.add(PARTITION, offset++, row);
        }
        Batch built = batch.build();
        Map<TopicPartition, Long> expected = new HashMap<>();
        expected.put(PARTITION, nextOffset);
        store.write(built, expected);
        nextOffset = built.nextOffsets().get(PARTITION);
    }

    /** The month's rows as they lie in the table. */
    private static List<String> onDisk(String org, String month) throws SQLException {
        return lines("SELECT billing_account_id || ' ' || feature_code FROM usage_monthly_rollups WHERE org_id = '" + org
                + "' AND month_start = '" + month + "' ORDER BY ctid");
    }

    private static List<String> inAccountOrder(String org, String month) throws SQLException {
        return lines("SELECT billing_account_id || ' ' || feature_code FROM usage_monthly_rollups WHERE org_id = '" + org
                + "' AND month_start = '" + month + "' ORDER BY billing_account_id, feature_code");
    }

    /**
     * How PostgreSQL ran the README's bill lines of one month for the default tenant. A month of a few hundred rows
     * would be read by a sequential scan; the planner is told to use an index, as it does for a month of many accounts.
     */
    private static String billLinesPlan(String month) throws SQLException {
        return String.join("\n", lines("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT billing_account_id, feature_code, billable_quantity"
                + " FROM usage_monthly WHERE org_id = 'default' AND month_start = '" + month + "' ORDER BY billing_account_id, feature_code",
                "SET enable_seqscan = off", "SET enable_bitmapscan = off"));
    }

    private static List<String> lines(String sql, String... settings) throws SQLException {
        List<String> lines = new ArrayList<>();
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SET TIME ZONE 'UTC'");
            for (String setting : settings) {
                statement.execute(setting);
            }
            try (ResultSet rows = statement.executeQuery(sql)) {
                while (rows.next()) {
                    lines.add(rows.getString(1));
                }
            }
            if (settings.length > 0) {
                statement.execute("RESET ALL"); // the connection goes back to the pool, which the refresher shares
            }
        }
        return lines;
    }
}
