package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.Rollup;
import dev.metering.avro.WindowSize;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.OffsetConflictException;
import dev.metering.sink.store.RollupRow;
import dev.metering.sink.store.RollupStore;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The migrations, the upsert and offset rules, the analyst views and role, against a real PostgreSQL. */
class DatabaseIT {
    private static final String GROUP = "database-it";
    private static PostgresDatabase database;
    private static RollupStore store;
    private static long nextOffset;

    @BeforeAll
    static void migrate() {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
        store = new RollupStore(database.dataSource(), GROUP);
    }

    @AfterAll
    static void close() {
        if (database != null) {
            database.close();
        }
    }

    /** Writes rollups as one batch of a partition of its own, so offsets never conflict between tests. */
    private static RollupStore.WriteResult write(Rollup... rollups) {
        TopicPartition partition = new TopicPartition("database-it-" + nextOffset++, 0);
        Batch.Builder batch = new Batch.Builder();
        long offset = 0;
        for (Rollup rollup : rollups) {
            batch.add(partition, offset++, RollupRow.of(rollup));
        }
        Map<TopicPartition, Long> expected = new HashMap<>();
        expected.put(partition, null);
        return store.write(batch.build(), expected);
    }

    private static List<Map<String, Object>> query(String sql) {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SET TIME ZONE 'America/New_York'"); // results must not depend on the session's time zone
            List<Map<String, Object>> rows = new ArrayList<>();
            try (ResultSet result = statement.executeQuery(sql)) {
                while (result.next()) {
                    Map<String, Object> row = new HashMap<>();
                    for (int i = 1; i <= result.getMetaData().getColumnCount(); i++) {
                        Object value = result.getObject(i);
                        if (value instanceof java.sql.Timestamp timestamp) {
                            value = timestamp.toInstant();
                        }
                        row.put(result.getMetaData().getColumnLabel(i), value);
                    }
                    rows.add(row);
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Object> single(String sql) {
        List<Map<String, Object>> rows = query(sql);
        assertThat(rows).as(sql).hasSize(1);
        return rows.get(0);
    }

    @Test
    void staleUpdateNeverOverwritesANewerOne() {
        assertThat(write(Rollups.delta("stale", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 5, "50")).rowsUpserted()).isEqualTo(1);

        RollupStore.WriteResult older = write(Rollups.delta("stale", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "30"));
        RollupStore.WriteResult same = write(Rollups.delta("stale", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 5, "999"));

        assertThat(older.staleIgnored()).isEqualTo(1);
        assertThat(same.staleIgnored()).isEqualTo(1);
        Map<String, Object> row = single("SELECT event_count, quantity_sum FROM usage_rollups WHERE billing_account_id = 'stale'");
        assertThat(row.get("event_count")).isEqualTo(5L);
        assertThat((BigDecimal) row.get("quantity_sum")).isEqualByComparingTo("50");

        assertThat(write(Rollups.delta("stale", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 6, "61.25")).rowsUpserted()).isEqualTo(1);
        assertThat((BigDecimal) single("SELECT quantity_sum FROM usage_rollups WHERE billing_account_id = 'stale'").get("quantity_sum"))
                .isEqualByComparingTo("61.25");
    }

    @Test
    void aRevertIsANewerVersionAndTheViewsShowRevertedQuantitiesNextToNetUsage() {
        write(Rollups.delta("reverts", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "30"),
                Rollups.delta("reverts", "api", WindowSize.HOUR, "2026-11-20T11:00:00Z", 1, "5"));
        // The aggregator's next version of 10:00: one revert of 12.5 (event_count unchanged, sums net of it).
        Rollup reverted = Rollups.delta("reverts", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "17.5");
        reverted.setRevertedQuantity(new BigDecimal("12.5").setScale(12));
        reverted.setRevertCount(1);
        assertThat(write(reverted).rowsUpserted()).as("event_count + revert_count orders the versions").isEqualTo(1);
        assertThat(write(Rollups.delta("reverts", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "30")).staleIgnored())
                .as("the version before the revert is stale").isEqualTo(1);

        Map<String, Object> hour = single("SELECT quantity_sum, billable_quantity, reverted_quantity, revert_count, event_count FROM usage_hourly "
                + "WHERE org_id = 'default' AND billing_account_id = 'reverts' AND window_start = '2026-11-20T10:00:00Z'");
        assertThat(plain(hour.get("quantity_sum"))).isEqualTo("17.5");
        assertThat(plain(hour.get("billable_quantity"))).isEqualTo("17.5");
        assertThat(plain(hour.get("reverted_quantity"))).isEqualTo("12.5");
        assertThat(hour.get("revert_count")).isEqualTo(1L);
        for (String view : List.of("usage_daily", "usage_monthly")) {
            Map<String, Object> period = single("SELECT quantity_sum, billable_quantity, reverted_quantity, revert_count, event_count FROM " + view
                    + " WHERE org_id = 'default' AND billing_account_id = 'reverts'");
            assertThat(plain(period.get("billable_quantity"))).as(view).isEqualTo("22.5");
            assertThat(plain(period.get("reverted_quantity"))).as(view).isEqualTo("12.5");
            assertThat(period.get("revert_count")).as(view).isEqualTo(1L);
            assertThat(period.get("event_count")).as(view).isEqualTo(4L);
        }
    }

    @Test
    void aLargeBatchWritesEveryNewerRowAndCountsTheStaleOnes() {
        int rows = 2507;
        Rollup[] first = new Rollup[rows];
        for (int i = 0; i < rows; i++) {
            first[i] = Rollups.delta("bulk-" + i, "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 2, "2");
        }
        assertThat(write(first)).isEqualTo(new RollupStore.WriteResult(rows, 0, 0));

        // Every third row comes again with an older version, the rest with a newer one.
        Rollup[] second = new Rollup[rows];
        int stale = 0;
        for (int i = 0; i < rows; i++) {
            boolean older = i % 3 == 0;
            stale += older ? 1 : 0;
            second[i] = Rollups.delta("bulk-" + i, "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", older ? 1 : 3, older ? "1" : "3.5");
        }
        assertThat(write(second)).isEqualTo(new RollupStore.WriteResult(rows - stale, stale, 0));

        Map<String, Object> totals = single("SELECT count(*) AS n, sum(event_count) AS events, sum(quantity_sum) AS quantity "
                + "FROM usage_rollups WHERE billing_account_id LIKE 'bulk-%'");
        assertThat(totals.get("n")).isEqualTo((long) rows);
        assertThat(totals.get("events")).isEqualTo(BigDecimal.valueOf(2L * stale + 3L * (rows - stale)));
        assertThat((BigDecimal) totals.get("quantity")).isEqualByComparingTo(
                new BigDecimal("3.5").multiply(BigDecimal.valueOf(rows - stale)).add(BigDecimal.valueOf(2L * stale)));
    }

    @Test
    void rollupPagesLeaveRoomForUpdatesInPlace() {
        assertThat(single("SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE relname = 'usage_rollups'").get("options"))
                .isEqualTo("fillfactor=70");
    }

    @Test
    void offsetsMoveOnlyFromWhereThisInstanceLeftThemAndTogetherWithTheRollups() {
        TopicPartition partition = new TopicPartition("offsets-it", 0);
        Batch first = new Batch.Builder().add(partition, 0, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.HOUR, "2026-11-01T00:00:00Z", 1, "1"))).build();
        Map<TopicPartition, Long> none = new HashMap<>();
        none.put(partition, null);
        store.write(first, none);
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 1L));

        // Another instance believing there is no row yet (a zombie) is refused, and nothing of its batch is written.
        Batch zombie = new Batch.Builder().add(partition, 0, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.HOUR, "2026-11-02T00:00:00Z", 1, "1"))).build();
        assertThatThrownBy(() -> store.write(zombie, none)).isInstanceOf(OffsetConflictException.class);
        assertThat(query("SELECT 1 FROM usage_rollups WHERE billing_account_id = 'offsets' AND window_start = '2026-11-02T00:00:00Z'")).isEmpty();
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 1L));

        Batch second = new Batch.Builder().add(partition, 1, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.HOUR, "2026-11-02T00:00:00Z", 1, "1"))).build();
        store.write(second, Map.of(partition, 1L));
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 2L));
        assertThat(query("SELECT 1 FROM usage_rollups WHERE billing_account_id = 'offsets'")).hasSize(2);
    }

    private static String plain(Object decimal) {
        return ((BigDecimal) decimal).stripTrailingZeros().toPlainString();
    }

    @Test
    void hoursBillTheirRunningValueAndDaysComposeFromTheLatestHourWithAnAbsolutePlusLaterDeltas() {
        write(// DESIGN.md's example: absolute 10 then delta 2 in one hour -> 12; delta 5 in a later hour -> 17 for the day.
                Rollups.mixed("default", "views-hd", "seats", "2026-11-20T10:00:00Z", 2, "10", "2026-11-20T10:05:00Z", "2", "2026-11-20T10:30:00Z"),
                Rollups.delta("views-hd", "seats", WindowSize.HOUR, "2026-11-20T11:00:00Z", 1, "5"),
                // Deltas before the latest hour with an ABSOLUTE do not count: it overrides them.
                Rollups.delta("views-hd", "seats", WindowSize.HOUR, "2026-11-20T09:00:00Z", 4, "100"),
                // Pure DELTA: the sum.
                Rollups.delta("views-hd", "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "7.5"),
                Rollups.delta("views-hd", "api_calls", WindowSize.HOUR, "2026-11-20T11:00:00Z", 2, "2.25"),
                // Pure ABSOLUTE: the latest value, not the largest.
                Rollups.absolute("views-hd", "gauge", WindowSize.HOUR, "2026-11-20T10:00:00Z", 4, "12", "2026-11-20T10:59:00Z", "g4"),
                Rollups.absolute("views-hd", "gauge", WindowSize.HOUR, "2026-11-20T13:00:00Z", 1, "3", "2026-11-20T13:10:00Z", "g5"),
                // Another day of the same feature is another row.
                Rollups.delta("views-hd", "api_calls", WindowSize.HOUR, "2026-11-21T00:00:00Z", 1, "1"));

        List<Map<String, Object>> hourly = query("SELECT feature_code, window_start, window_end, billable_quantity, latest_absolute_event_id "
                + "FROM usage_hourly WHERE org_id = 'default' AND billing_account_id = 'views-hd' AND feature_code = 'seats' ORDER BY window_start");
        assertThat(hourly).extracting(r -> r.get("window_start"), r -> plain(r.get("billable_quantity")), r -> r.get("latest_absolute_event_id"))
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(Instant.parse("2026-11-20T09:00:00Z"), "100", null),
                        org.assertj.core.groups.Tuple.tuple(Instant.parse("2026-11-20T10:00:00Z"), "12", "a-2026-11-20T10:05:00Z"),
                        org.assertj.core.groups.Tuple.tuple(Instant.parse("2026-11-20T11:00:00Z"), "5", null));
        assertThat(hourly.get(0).get("window_end")).isEqualTo(Instant.parse("2026-11-20T10:00:00Z"));

        List<Map<String, Object>> daily = query("SELECT * FROM usage_daily WHERE org_id = 'default' AND billing_account_id = 'views-hd' "
                + "ORDER BY feature_code, window_start");
        assertThat(daily).extracting(r -> r.get("feature_code"), r -> r.get("window_start"), r -> plain(r.get("billable_quantity")),
                r -> r.get("event_count"), r -> r.get("hours_with_usage")).containsExactly(
                org.assertj.core.groups.Tuple.tuple("api_calls", Instant.parse("2026-11-20T00:00:00Z"), "9.75", 5L, 2),
                org.assertj.core.groups.Tuple.tuple("api_calls", Instant.parse("2026-11-21T00:00:00Z"), "1", 1L, 1),
                org.assertj.core.groups.Tuple.tuple("gauge", Instant.parse("2026-11-20T00:00:00Z"), "3", 5L, 2),
                org.assertj.core.groups.Tuple.tuple("seats", Instant.parse("2026-11-20T00:00:00Z"), "17", 7L, 3));
        Map<String, Object> seats = daily.get(3);
        assertThat(seats.get("window_end")).isEqualTo(Instant.parse("2026-11-21T00:00:00Z"));
        assertThat(plain(seats.get("quantity_sum"))).isEqualTo("107");
        assertThat(seats.get("latest_absolute_event_time")).isEqualTo(Instant.parse("2026-11-20T10:05:00Z"));
        // The latest event of the day is in its last hour.
        assertThat(seats.get("latest_event_id")).isEqualTo("e-1");
        assertThat(seats.get("latest_event_time")).isEqualTo(Instant.parse("2026-11-20T11:01:00Z"));
        assertThat(seats.get("latest_value_type")).isEqualTo("DELTA");
        assertThat(seats.get("first_event_time")).isEqualTo(Instant.parse("2026-11-20T09:00:00Z"));
        assertThat(plain(seats.get("max_value"))).isEqualTo("100");
        Map<String, Object> gauge = daily.get(2);
        assertThat(gauge.get("latest_value_type")).isEqualTo("ABSOLUTE");
        assertThat(plain(gauge.get("latest_value"))).isEqualTo("3");
        assertThat(gauge.get("latest_event_id")).isEqualTo("g5");

        // The same fold as an aggregate, for any range an analyst picks.
        assertThat(plain(single("SELECT metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) AS b "
                + "FROM usage_hourly WHERE billing_account_id = 'views-hd' AND feature_code = 'seats'").get("b"))).isEqualTo("17");
        assertThat(plain(single("SELECT metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) AS b "
                + "FROM usage_hourly WHERE billing_account_id = 'views-hd' AND feature_code = 'seats' AND window_start < '2026-11-20T10:00:00Z'")
                .get("b"))).isEqualTo("100");
    }

    @Test
    void monthlyViewComposesUtcCalendarMonthsFromTheHours() {
        write(
                // DELTA: November has hours on two days, December one (its first hour is still November 30 in New York).
                Rollups.delta("views-m", "api_calls", WindowSize.HOUR, "2026-11-01T00:00:00Z", 3, "10"),
                Rollups.delta("views-m", "api_calls", WindowSize.HOUR, "2026-11-01T05:00:00Z", 1, "0.5"),
                Rollups.delta("views-m", "api_calls", WindowSize.HOUR, "2026-11-30T23:00:00Z", 1, "2"),
                Rollups.delta("views-m", "api_calls", WindowSize.HOUR, "2026-12-01T00:00:00Z", 2, "7"),
                // ABSOLUTE on Nov 3 (8), on Nov 20 (3), then DELTAs on Nov 25: 3 + 4 = 7; Nov 2's DELTA is overridden.
                Rollups.delta("views-m", "seats", WindowSize.HOUR, "2026-11-02T10:00:00Z", 1, "50"),
                Rollups.absolute("views-m", "seats", WindowSize.HOUR, "2026-11-03T10:00:00Z", 2, "8", "2026-11-03T10:30:00Z", "s2"),
                Rollups.absolute("views-m", "seats", WindowSize.HOUR, "2026-11-20T09:00:00Z", 1, "3", "2026-11-20T09:10:00Z", "s9"),
                Rollups.delta("views-m", "seats", WindowSize.HOUR, "2026-11-25T09:00:00Z", 2, "4"));

        List<Map<String, Object>> months = query("SELECT * FROM usage_monthly WHERE org_id = 'default' AND billing_account_id = 'views-m' "
                + "ORDER BY feature_code, month_start");
        assertThat(months).hasSize(3);

        Map<String, Object> novemberCalls = months.get(0);
        assertThat(novemberCalls.get("month_start")).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(novemberCalls.get("month_end")).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(plain(novemberCalls.get("billable_quantity"))).isEqualTo("12.5");
        assertThat(plain(novemberCalls.get("quantity_sum"))).isEqualTo("12.5");
        assertThat(novemberCalls.get("event_count")).isEqualTo(5L);
        assertThat(plain(novemberCalls.get("min_value"))).isEqualTo("0.5");
        assertThat(plain(novemberCalls.get("max_value"))).isEqualTo("10");
        assertThat(novemberCalls.get("first_event_time")).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(novemberCalls.get("last_event_time")).isEqualTo(Instant.parse("2026-11-30T23:01:00Z"));
        assertThat(novemberCalls.get("days_with_usage")).isEqualTo(2);

        Map<String, Object> decemberCalls = months.get(1);
        assertThat(decemberCalls.get("month_start")).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(decemberCalls.get("month_end")).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
        assertThat(plain(decemberCalls.get("billable_quantity"))).isEqualTo("7");

        Map<String, Object> novemberSeats = months.get(2);
        assertThat(plain(novemberSeats.get("billable_quantity"))).isEqualTo("7");
        assertThat(novemberSeats.get("latest_absolute_event_time")).isEqualTo(Instant.parse("2026-11-20T09:10:00Z"));
        assertThat(novemberSeats.get("latest_value_type")).isEqualTo("DELTA");
        assertThat(novemberSeats.get("event_count")).isEqualTo(6L);
        assertThat(novemberSeats.get("days_with_usage")).isEqualTo(4);
    }

    @Test
    void tenantsNeverTouchEachOther() {
        write(Rollups.delta("org-a", "acct-shared", "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 1, "1000000"),
                Rollups.delta("org-b", "acct-shared", "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 1, "3"));

        for (String view : List.of("usage_hourly", "usage_daily", "usage_monthly")) {
            assertThat(query("SELECT org_id, billable_quantity FROM " + view + " WHERE billing_account_id = 'acct-shared' ORDER BY org_id"))
                    .as(view).extracting(r -> r.get("org_id"), r -> plain(r.get("billable_quantity")))
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("org-a", "1000000"), org.assertj.core.groups.Tuple.tuple("org-b", "3"));
        }
    }

    @Test
    void sumsHoldFiftyDigits() {
        String huge = "99999999999999999999999999999999999999.999999999999"; // 38 + 12 digits: numeric(50,12)
        write(Rollups.delta("wide", "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, huge));
        Map<String, Object> row = single("SELECT quantity_sum, billable_quantity FROM usage_hourly WHERE billing_account_id = 'wide'");
        assertThat(plain(row.get("quantity_sum"))).isEqualTo(huge);
        assertThat(plain(row.get("billable_quantity"))).isEqualTo(huge);
    }

    /** Random letters and digits: PostgreSQL cannot compress them below the index row limit as it would "ppp...". */
    static String incompressible(int length) {
        java.util.Random random = new java.util.Random(length);
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(random.nextInt(36)));
        }
        return text.toString();
    }

    /** A poison row, as the decoder would let it through if it did not check (the database is the last line). */
    private static RollupRow poison(String account, String feature, Instant windowStart, Instant windowEnd) {
        RollupRow valid = RollupRow.of(Rollups.delta(account.substring(0, Math.min(account.length(), 10)), "api", WindowSize.HOUR,
                "2026-11-20T10:00:00Z", 1, "1"));
        return new RollupRow(valid.orgId(), account, feature, valid.windowSize(), windowStart, windowEnd, valid.eventCount(),
                valid.quantitySum(), valid.billableQuantity(), valid.latestValue(), valid.latestValueType(), valid.latestEventTime(),
                valid.latestEventId(), null, null, valid.minValue(), valid.maxValue(), valid.firstEventTime(), valid.lastEventTime(),
                valid.updatedAt(), valid.revertedQuantity(), valid.revertCount());
    }

    @Test
    void rowsPostgresRefusesAreRecordedWithTheirBytesAndEveryOtherRowIsWritten() {
        TopicPartition partition = new TopicPartition("poison-it", 0);
        Instant hour = Instant.parse("2026-11-20T10:00:00Z");
        Map<Long, RollupRow> poisons = Map.of(
                3L, poison("poison-nul", "api\u0000calls", hour, hour.plusSeconds(3600)),          // 22021 invalid UTF-8 (NUL)
                17L, poison(incompressible(2700), "api", hour, hour.plusSeconds(3600)),              // 54000 index row size
                18L, poison("poison-year", "api", Instant.parse("+300000-01-01T00:00:00Z"), Instant.parse("+300000-01-01T01:00:00Z")), // 22008
                40L, poison("poison-day", "api", hour, hour.plusSeconds(86400)));                    // 23514 check: not one hour
        Batch.Builder builder = new Batch.Builder();
        int valid = 0;
        for (long offset = 0; offset < 60; offset++) {
            byte[] key = ("key-" + offset).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] value = ("value-" + offset).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            RollupRow row = poisons.get(offset);
            if (row == null) {
                row = RollupRow.of(Rollups.delta("poison-valid-" + offset, "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", offset + 1, offset + ".25"));
                valid++;
            }
            builder.add(partition, offset, row, key, value);
        }
        Map<TopicPartition, Long> none = new HashMap<>();
        none.put(partition, null);

        RollupStore.WriteResult result = store.write(builder.build(), none);

        assertThat(result.refused()).extracting(r -> r.recordOffset()).containsExactlyInAnyOrder(3L, 17L, 18L, 40L);
        assertThat(result.rowsUpserted()).isEqualTo(valid);
        assertThat(query("SELECT billing_account_id, event_count, quantity_sum FROM usage_rollups WHERE billing_account_id LIKE 'poison-valid-%'"))
                .hasSize(valid).allSatisfy(row -> {
                    long offset = Long.parseLong(((String) row.get("billing_account_id")).substring("poison-valid-".length()));
                    assertThat(row.get("event_count")).isEqualTo(offset + 1);
                    assertThat(plain(row.get("quantity_sum"))).isEqualTo(new BigDecimal(offset + ".25").stripTrailingZeros().toPlainString());
                });
        Map<Long, Map<String, Object>> rejected = new HashMap<>();
        query("SELECT record_offset, reason, detail, record_key, record_value FROM sink_rejected_records WHERE topic = 'poison-it'")
                .forEach(row -> rejected.put((Long) row.get("record_offset"), row));
        assertThat(rejected).containsOnlyKeys(3L, 17L, 18L, 40L);
        assertThat(rejected.values()).allSatisfy(row -> assertThat(row.get("reason")).isEqualTo("REFUSED_BY_DATABASE"));
        assertThat((String) rejected.get(3L).get("detail")).startsWith("SQLSTATE 22");
        assertThat((String) rejected.get(17L).get("detail")).startsWith("SQLSTATE 54000").contains("index row size");
        assertThat((String) rejected.get(18L).get("detail")).startsWith("SQLSTATE 22");
        assertThat((String) rejected.get(40L).get("detail")).startsWith("SQLSTATE 23514");
        assertThat((byte[]) rejected.get(17L).get("record_key")).isEqualTo("key-17".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat((byte[]) rejected.get(17L).get("record_value")).isEqualTo("value-17".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        // ... in the transaction that moved the offset past them.
        assertThat(store.storedOffsets("poison-it")).isEqualTo(Map.of(0, 60L));
    }

    @Test
    void migrationCarriesLegacyRollupsIntoTheDefaultTenantAndComposesDaysFromTheirHours() throws SQLException {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE DATABASE sink_legacy_db");
        }
        try {
            PGSimpleDataSource legacy = new PGSimpleDataSource();
            legacy.setUrl(database.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/sink_legacy_db$1"));
            legacy.setUser(database.username());
            if (!database.password().isEmpty()) {
                legacy.setPassword(database.password());
            }
            org.flywaydb.core.Flyway.configure().dataSource(legacy).locations(Migrations.LOCATION).target("4").load().migrate();
            try (Connection connection = legacy.getConnection(); Statement statement = connection.createStatement()) {
                statement.execute("""
                        INSERT INTO usage_rollups VALUES
                        ('old', 'calls', 'HOUR', '2026-11-20 10:00Z', '2026-11-20 11:00Z', 3, 7.5, 2, 'DELTA', '2026-11-20 10:30Z', 'e3', 1, 4,
                         '2026-11-20 10:01Z', '2026-11-20 10:30Z', now()),
                        ('old', 'seats', 'HOUR', '2026-11-20 10:00Z', '2026-11-20 11:00Z', 2, 0, 12, 'ABSOLUTE', '2026-11-20 10:50Z', 's2', 5, 12,
                         '2026-11-20 10:01Z', '2026-11-20 10:50Z', now()),
                        ('old', 'seats', 'HOUR', '2026-11-20 11:00Z', '2026-11-20 12:00Z', 1, 3, 3, 'DELTA', '2026-11-20 11:10Z', 'd1', 3, 3,
                         '2026-11-20 11:10Z', '2026-11-20 11:10Z', now()),
                        ('old', 'calls', 'DAY', '2026-11-20 00:00Z', '2026-11-21 00:00Z', 99, 99, 2, 'DELTA', '2026-11-20 10:30Z', 'e3', 1, 4,
                         '2026-11-20 10:01Z', '2026-11-20 10:30Z', now())
                        """);
            }
            assertThat(Migrations.migrate(legacy, 0, Duration.ofSeconds(1)).migrationsExecuted).as("every migration after V4")
                    .isEqualTo(migrationCount() - 4);
            try (Connection connection = legacy.getConnection(); Statement statement = connection.createStatement();
                 ResultSet result = statement.executeQuery("SELECT org_id, feature_code, billable_quantity, event_count, "
                         + "(SELECT count(*) FROM usage_rollups WHERE window_size = 'DAY') AS days FROM usage_daily ORDER BY feature_code")) {
                assertThat(result.next()).isTrue();
                assertThat(result.getString("org_id")).isEqualTo("default");
                assertThat(result.getString("feature_code")).isEqualTo("calls");
                assertThat(result.getBigDecimal("billable_quantity")).isEqualByComparingTo("7.5");
                assertThat(result.getLong("event_count")).isEqualTo(3); // from the hour; the old DAY row is gone
                assertThat(result.getLong("days")).isZero();
                assertThat(result.next()).isTrue();
                assertThat(result.getString("feature_code")).isEqualTo("seats");
                assertThat(result.getBigDecimal("billable_quantity")).isEqualByComparingTo("15"); // absolute 12, then a delta of 3
                assertThat(result.next()).isFalse();
            }
        } finally {
            try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
                statement.execute("DROP DATABASE IF EXISTS sink_legacy_db WITH (FORCE)");
            }
        }
    }

    @Test
    void analystRoleReadsTheViewsAndNothingElse() throws SQLException {
        write(Rollups.delta("analyst", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 2, "4"),
                Rollups.delta("analyst", "api", WindowSize.HOUR, "2026-11-20T01:00:00Z", 2, "4"));
        assertThat(single("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'metering_analyst'").get("rolcanlogin")).isEqualTo(false);

        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SET ROLE metering_analyst");
            for (String view : List.of("usage_hourly", "usage_daily", "usage_monthly")) {
                try (ResultSet result = statement.executeQuery("SELECT count(*) FROM " + view + " WHERE billing_account_id = 'analyst'")) {
                    result.next();
                    assertThat(result.getLong(1)).as(view).isEqualTo(view.equals("usage_hourly") ? 2 : 1);
                }
            }
            for (String forbidden : List.of(
                    "SELECT * FROM usage_rollups",
                    "SELECT * FROM sink_offsets",
                    "SELECT * FROM sink_rejected_records",
                    "SELECT * FROM flyway_schema_history",
                    "INSERT INTO usage_rollups (billing_account_id) VALUES ('x')",
                    "UPDATE usage_rollups SET event_count = 1",
                    "DELETE FROM sink_offsets",
                    "INSERT INTO usage_hourly (billing_account_id) VALUES ('x')",
                    "UPDATE usage_daily SET event_count = 1",
                    "DELETE FROM usage_monthly",
                    "TRUNCATE usage_rollups",
                    "CREATE TABLE analyst_scratch (id int)",
                    "CREATE VIEW analyst_view AS SELECT 1")) {
                assertThatThrownBy(() -> statement.execute(forbidden)).as(forbidden)
                        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).as(forbidden + ": " + e.getMessage())
                                .isIn("42501", "25006", "55000"));
            }
            try (ResultSet result = statement.executeQuery("SELECT metering_billable(true, 1 ORDER BY 1)")) {
                result.next(); // the aggregate is for analysts too
            }
            statement.execute("RESET ROLE");
        }
        assertThat(single("SELECT sum(event_count) AS events FROM usage_rollups WHERE billing_account_id = 'analyst'").get("events"))
                .isEqualTo(BigDecimal.valueOf(4));
    }

    @Test
    void migratingAnotherDatabaseOnTheSameServerReusesTheRole() throws SQLException {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE DATABASE sink_second_db");
        }
        try {
            PGSimpleDataSource second = new PGSimpleDataSource();
            second.setUrl(database.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/sink_second_db$1"));
            second.setUser(database.username());
            if (!database.password().isEmpty()) {
                second.setPassword(database.password());
            }
            assertThat(Migrations.migrate(second, 0, Duration.ofSeconds(1)).migrationsExecuted).as("every migration").isEqualTo(migrationCount());
            try (Connection connection = second.getConnection(); Statement statement = connection.createStatement();
                 ResultSet result = statement.executeQuery("SELECT has_table_privilege('metering_analyst', 'usage_daily', 'SELECT'), "
                         + "has_table_privilege('metering_analyst', 'usage_rollups', 'SELECT')")) {
                result.next();
                assertThat(result.getBoolean(1)).isTrue();
                assertThat(result.getBoolean(2)).isFalse();
            }
        } finally {
            try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
                statement.execute("DROP DATABASE IF EXISTS sink_second_db WITH (FORCE)");
            }
        }
    }

    /** The SQL blocks of the README's "Querying usage" section. */
    private static List<String> readmeQueries() throws java.io.IOException {
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        String section = readme.substring(readme.indexOf("## Querying usage"));
        List<String> queries = new ArrayList<>();
        java.util.regex.Matcher blocks = java.util.regex.Pattern.compile("```sql\\n(.*?)```", java.util.regex.Pattern.DOTALL).matcher(section);
        while (blocks.find()) {
            queries.add(blocks.group(1).strip().replaceAll(";$", ""));
        }
        return queries;
    }

    @Test
    void readmeExamplesRunAsTheAnalystAndAnswerTheQuestions() throws Exception {
        java.time.ZonedDateTime now = java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC);
        Instant today = now.truncatedTo(java.time.temporal.ChronoUnit.DAYS).toInstant();
        Instant yesterday = today.minus(Duration.ofDays(1));
        Instant thisHour = now.truncatedTo(java.time.temporal.ChronoUnit.HOURS).toInstant();
        Instant lastMonth = now.withDayOfMonth(1).minusMonths(1).truncatedTo(java.time.temporal.ChronoUnit.DAYS).toInstant();
        // Yesterday's first hour is never among the last 24 hours of the chart query.
        write(Rollups.delta("acct-42", "api_calls", WindowSize.HOUR, thisHour.toString(), 3, "42.5"),
                Rollups.delta("acct-42", "api_calls", WindowSize.HOUR, yesterday.toString(), 2, "1000"),
                Rollups.delta("acct-7", "api_calls", WindowSize.HOUR, yesterday.toString(), 2, "10"),
                Rollups.delta("acct-42", "api_calls", WindowSize.HOUR, lastMonth.toString(), 2, "8"),
                // another tenant's account of the same name is not in the default tenant's figures
                Rollups.delta("org-other", "acct-42", "api_calls", WindowSize.HOUR, yesterday.toString(), 2, "500000"));

        List<String> queries = readmeQueries();
        assertThat(queries).hasSize(5);
        List<List<Map<String, Object>>> answers = new ArrayList<>();
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SET ROLE metering_analyst");
            statement.execute("SET TIME ZONE 'Asia/Kolkata'"); // a half-hour offset: hour and day boundaries must still be UTC
            for (String query : queries) {
                List<Map<String, Object>> rows = new ArrayList<>();
                try (ResultSet result = statement.executeQuery(query)) {
                    while (result.next()) {
                        Map<String, Object> row = new HashMap<>();
                        for (int i = 1; i <= result.getMetaData().getColumnCount(); i++) {
                            row.put(result.getMetaData().getColumnLabel(i), result.getObject(i));
                        }
                        rows.add(row);
                    }
                }
                answers.add(rows);
            }
        }
        boolean yesterdayInLastMonth = yesterday.isBefore(now.withDayOfMonth(1).truncatedTo(java.time.temporal.ChronoUnit.DAYS).toInstant());
        assertThat(answers.get(0)).singleElement().satisfies(row -> assertThat((BigDecimal) row.get("billable_quantity"))
                .isEqualByComparingTo(yesterdayInLastMonth ? "42.5" : "1042.5"));
        assertThat(answers.get(1)).extracting(row -> row.get("billing_account_id")).startsWith("acct-42", "acct-7");
        assertThat(answers.get(2)).hasSize(24);
        assertThat((BigDecimal) answers.get(2).get(23).get("quantity")).isEqualByComparingTo("42.5");
        assertThat(answers.get(2).subList(0, 23)).allSatisfy(row -> assertThat((BigDecimal) row.get("quantity")).isZero());
        assertThat(answers.get(3)).anySatisfy(row -> {
            assertThat(row.get("org_id")).isEqualTo("default");
            assertThat(row.get("billing_account_id")).isEqualTo("acct-42");
            assertThat((BigDecimal) row.get("billable_quantity")).isEqualByComparingTo(yesterdayInLastMonth ? "1008" : "8");
        });
        assertThat(answers.get(4)).singleElement().satisfies(row -> assertThat((BigDecimal) row.get("billable_quantity"))
                .isEqualByComparingTo("1042.5"));
    }

    @Test
    void migratingAgainIsANoOp() {
        assertThat(Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1)).migrationsExecuted).isZero();
    }

    /** How many migrations the sink ships (V1, V2, ...); tests run in the module's directory. */
    private static int migrationCount() {
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("src/main/resources/db/migration"))) {
            return (int) files.filter(file -> file.getFileName().toString().matches("V\\d+__.*\\.sql")).count();
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot list the migrations", e);
        }
    }
}
