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
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The day and month tables never miss a change of their hours while the refresh runs next to the writers: two
 * sink-like writers (their own partitions and accounts, as two sink instances have) rewrite hours while refreshes run
 * back to back. Each account is written by a few transactions and then left alone, as traffic moves on, so a change
 * whose mark a refresh cleared without folding it is not repaired by a later write and leaves its day behind. The
 * writers pause briefly between their upserts and their commit, as a sink does while it stores its offsets. Whatever
 * the interleaving, once the writers stop and one last refresh ran, every day and month row equals the fold of its
 * hours, and no day is left marked.
 */
class PeriodRefreshConcurrencyIT {
    private static final Instant FIRST_HOUR = Instant.parse("2026-03-31T20:00:00Z"); // two days across a month boundary
    private static final int HOURS = 8;
    private static final int TRANSACTIONS_PER_ACCOUNT = 4;
    private static final int TRANSACTIONS_PER_WRITER = 400;
    private static PostgresDatabase database;

    @BeforeAll
    static void migrate() {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
    }

    @AfterAll
    static void close() {
        if (database != null) {
            database.close();
        }
    }

    @Test
    void daysAndMonthsEqualTheirHoursAfterWritesConcurrentWithRefreshes() throws Exception {
        PeriodRefresher refresher = new PeriodRefresher(database.dataSource(), new PeriodRefresh(Duration.ofSeconds(30), 5), Duration.ofMinutes(10), new SimpleMeterRegistry());
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger refreshed = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try {
            Future<?> refreshes = threads.submit(() -> {
                while (writing.get()) {
                    refreshed.addAndGet(refresher.refreshStale(Duration.ZERO));
                }
            });
            Future<?> first = threads.submit(() -> write("writer-a", 1));
            Future<?> second = threads.submit(() -> write("writer-b", 2));
            first.get();
            second.get();
            writing.set(false);
            refreshes.get();
        } finally {
            threads.shutdownNow();
        }
        refresher.refreshStale(Duration.ZERO);

        assertThat(refreshed.get()).as("days refreshed while the writers ran").isGreaterThan(TRANSACTIONS_PER_WRITER / 10);
        assertThat(count("SELECT count(*) FROM usage_periods_stale")).isZero();
        assertThat(count("SELECT count(*) FROM usage_daily_rollups")).isGreaterThanOrEqualTo(2L * TRANSACTIONS_PER_WRITER / TRANSACTIONS_PER_ACCOUNT);
        assertThat(count("""
                SELECT count(*)
                FROM usage_daily_rollups d
                FULL JOIN (SELECT org_id, billing_account_id, feature_code,
                                  date_trunc('day', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day_start,
                                  sum(event_count) AS event_count, sum(quantity_sum) AS quantity_sum,
                                  metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) AS billable
                           FROM usage_hourly GROUP BY 1, 2, 3, 4) h
                  ON h.org_id = d.org_id AND h.billing_account_id = d.billing_account_id AND h.feature_code = d.feature_code
                 AND h.day_start = d.window_start
                WHERE d.org_id IS NULL OR h.org_id IS NULL OR d.event_count <> h.event_count OR d.quantity_sum <> h.quantity_sum
                   OR d.billable_quantity <> h.billable""")).as("days differing from their hours").isZero();
        assertThat(count("""
                SELECT count(*)
                FROM usage_monthly_rollups m
                FULL JOIN (SELECT org_id, billing_account_id, feature_code,
                                  date_trunc('month', window_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month_start,
                                  sum(event_count) AS event_count,
                                  metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) AS billable
                           FROM usage_hourly GROUP BY 1, 2, 3, 4) h
                  ON h.org_id = m.org_id AND h.billing_account_id = m.billing_account_id AND h.feature_code = m.feature_code
                 AND h.month_start = m.month_start
                WHERE m.org_id IS NULL OR h.org_id IS NULL OR m.event_count <> h.event_count OR m.billable_quantity <> h.billable"""))
                .as("months differing from their hours").isZero();
    }

    /**
     * A writer's transactions: each rewrites a few random hours of its current account with a newer version, as the
     * sink does; every few transactions it moves on to the next account.
     */
    private static void write(String writer, long seed) {
        Random random = new Random(seed);
        RollupStore store = HookedStores.withHooks(database.dataSource(), writer, new BatchHooks() {
            @Override
            public void afterUpserts(Batch batch) {
                LockSupport.parkNanos(random.nextInt(2_000_000));
            }
        });
        TopicPartition partition = new TopicPartition(writer, 0);
        long[] versions = new long[HOURS];
        Long expected = null;
        long offset = 0;
        for (int transaction = 0; transaction < TRANSACTIONS_PER_WRITER; transaction++) {
            int account = transaction / TRANSACTIONS_PER_ACCOUNT;
            if (transaction % TRANSACTIONS_PER_ACCOUNT == 0) {
                versions = new long[HOURS];
            }
            Batch.Builder batch = new Batch.Builder();
            Map<Integer, Boolean> inBatch = new HashMap<>();
            for (int i = 0; i < 3; i++) {
                int hour = random.nextInt(HOURS);
                if (inBatch.putIfAbsent(hour, true) != null) {
                    continue; // a batch holds one version per row
                }
                long version = ++versions[hour];
                batch.add(partition, offset++, row(writer + "-account-" + account, hour, version, random.nextInt(5) == 0));
            }
            Batch built = batch.build();
            Map<TopicPartition, Long> expectedOffsets = new HashMap<>();
            expectedOffsets.put(partition, expected);
            store.write(built, expectedOffsets);
            expected = built.nextOffsets().get(partition);
        }
    }

    private static RollupRow row(String account, int hourIndex, long version, boolean absolute) {
        Instant start = FIRST_HOUR.plus(Duration.ofHours(hourIndex));
        Instant eventTime = start.plusSeconds(60 + version);
        BigDecimal quantity = BigDecimal.valueOf(version);
        return new RollupRow("default", account, "feature", "HOUR", start, start.plus(Duration.ofHours(1)), version, quantity,
                absolute ? quantity.add(BigDecimal.TEN) : quantity, quantity, absolute ? "ABSOLUTE" : "DELTA", eventTime, "e-" + version,
                absolute ? eventTime : null, absolute ? "e-" + version : null, BigDecimal.ONE, quantity, start, eventTime, eventTime,
                BigDecimal.ZERO, 0);
    }

    private static long count(String sql) throws SQLException {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }
}
