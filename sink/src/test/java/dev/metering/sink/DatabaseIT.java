package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.Rollup;
import dev.metering.avro.WindowSize;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.BatchHooks;
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
        store = new RollupStore(database.dataSource(), GROUP, BatchHooks.NONE);
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
        Batch first = new Batch.Builder().add(partition, 0, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.DAY, "2026-11-01T00:00:00Z", 1, "1"))).build();
        Map<TopicPartition, Long> none = new HashMap<>();
        none.put(partition, null);
        store.write(first, none);
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 1L));

        // Another instance believing there is no row yet (a zombie) is refused, and nothing of its batch is written.
        Batch zombie = new Batch.Builder().add(partition, 0, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.DAY, "2026-11-02T00:00:00Z", 1, "1"))).build();
        assertThatThrownBy(() -> store.write(zombie, none)).isInstanceOf(OffsetConflictException.class);
        assertThat(query("SELECT 1 FROM usage_rollups WHERE billing_account_id = 'offsets' AND window_start = '2026-11-02T00:00:00Z'")).isEmpty();
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 1L));

        Batch second = new Batch.Builder().add(partition, 1, RollupRow.of(Rollups.delta("offsets", "api", WindowSize.DAY, "2026-11-02T00:00:00Z", 1, "1"))).build();
        store.write(second, Map.of(partition, 1L));
        assertThat(store.storedOffsets("offsets-it")).isEqualTo(Map.of(0, 2L));
        assertThat(query("SELECT 1 FROM usage_rollups WHERE billing_account_id = 'offsets'")).hasSize(2);
    }

    @Test
    void hourlyAndDailyViewsBillDeltaOnTheSumAndAbsoluteOnTheLatestValue() {
        write(Rollups.delta("views-hd", "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 3, "7.5"),
                Rollups.delta("views-hd", "api_calls", WindowSize.HOUR, "2026-11-20T11:00:00Z", 2, "2.25"),
                Rollups.absolute("views-hd", "seats", WindowSize.HOUR, "2026-11-20T10:00:00Z", 4, "12", "2026-11-20T10:59:00Z", "s4"),
                Rollups.delta("views-hd", "api_calls", WindowSize.DAY, "2026-11-20T00:00:00Z", 5, "9.75"),
                Rollups.absolute("views-hd", "seats", WindowSize.DAY, "2026-11-20T00:00:00Z", 4, "12", "2026-11-20T10:59:00Z", "s4"));

        List<Map<String, Object>> hourly = query("SELECT feature_code, window_start, window_end, billable_quantity, event_count FROM usage_hourly "
                + "WHERE billing_account_id = 'views-hd' ORDER BY feature_code, window_start");
        assertThat(hourly).extracting(r -> r.get("feature_code"), r -> r.get("window_start"), r -> ((BigDecimal) r.get("billable_quantity")).stripTrailingZeros().toPlainString())
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("api_calls", Instant.parse("2026-11-20T10:00:00Z"), "7.5"),
                        org.assertj.core.groups.Tuple.tuple("api_calls", Instant.parse("2026-11-20T11:00:00Z"), "2.25"),
                        org.assertj.core.groups.Tuple.tuple("seats", Instant.parse("2026-11-20T10:00:00Z"), "12"));
        assertThat(hourly.get(0).get("window_end")).isEqualTo(Instant.parse("2026-11-20T11:00:00Z"));

        List<Map<String, Object>> daily = query("SELECT feature_code, billable_quantity, event_count FROM usage_daily "
                + "WHERE billing_account_id = 'views-hd' ORDER BY feature_code");
        assertThat(daily).extracting(r -> r.get("feature_code"), r -> ((BigDecimal) r.get("billable_quantity")).stripTrailingZeros().toPlainString(),
                r -> r.get("event_count")).containsExactly(
                org.assertj.core.groups.Tuple.tuple("api_calls", "9.75", 5L),
                org.assertj.core.groups.Tuple.tuple("seats", "12", 4L));
    }

    @Test
    void monthlyViewAggregatesUtcCalendarMonthsOfDailyRows() {
        write(
                // DELTA: November has two days, December one (its first day is still November 30 in New York).
                Rollups.rollup("views-m", "api_calls", WindowSize.DAY, Instant.parse("2026-11-01T00:00:00Z"), 3, "10", "5",
                        dev.metering.avro.ValueType.DELTA, Instant.parse("2026-11-01T08:00:00Z"), "a3", "1", "5"),
                Rollups.rollup("views-m", "api_calls", WindowSize.DAY, Instant.parse("2026-11-30T00:00:00Z"), 1, "2.5", "2.5",
                        dev.metering.avro.ValueType.DELTA, Instant.parse("2026-11-30T23:00:00Z"), "a4", "2.5", "2.5"),
                Rollups.rollup("views-m", "api_calls", WindowSize.DAY, Instant.parse("2026-12-01T00:00:00Z"), 2, "7", "4",
                        dev.metering.avro.ValueType.DELTA, Instant.parse("2026-12-01T01:00:00Z"), "a6", "3", "4"),
                // ABSOLUTE: the latest value of the month is the one reported last (3), not the largest (8).
                Rollups.rollup("views-m", "seats", WindowSize.DAY, Instant.parse("2026-11-03T00:00:00Z"), 2, "0", "8",
                        dev.metering.avro.ValueType.ABSOLUTE, Instant.parse("2026-11-03T10:00:00Z"), "s2", "5", "8"),
                Rollups.rollup("views-m", "seats", WindowSize.DAY, Instant.parse("2026-11-20T00:00:00Z"), 1, "0", "3",
                        dev.metering.avro.ValueType.ABSOLUTE, Instant.parse("2026-11-20T09:00:00Z"), "s9", "3", "3"),
                // Hourly rows are not part of the monthly view (it is computed from daily rows).
                Rollups.delta("views-m", "api_calls", WindowSize.HOUR, "2026-11-01T00:00:00Z", 3, "10"));

        List<Map<String, Object>> months = query("SELECT * FROM usage_monthly WHERE billing_account_id = 'views-m' ORDER BY feature_code, month_start");
        assertThat(months).hasSize(3);

        Map<String, Object> novemberCalls = months.get(0);
        assertThat(novemberCalls.get("month_start")).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(novemberCalls.get("month_end")).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat((BigDecimal) novemberCalls.get("billable_quantity")).isEqualByComparingTo("12.5");
        assertThat((BigDecimal) novemberCalls.get("quantity_sum")).isEqualByComparingTo("12.5");
        assertThat(novemberCalls.get("event_count")).isEqualTo(4L);
        assertThat((BigDecimal) novemberCalls.get("min_value")).isEqualByComparingTo("1");
        assertThat((BigDecimal) novemberCalls.get("max_value")).isEqualByComparingTo("5");
        assertThat(novemberCalls.get("first_event_time")).isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(novemberCalls.get("last_event_time")).isEqualTo(Instant.parse("2026-11-30T23:00:00Z"));
        assertThat(novemberCalls.get("days_with_usage")).isEqualTo(2);

        Map<String, Object> decemberCalls = months.get(1);
        assertThat(decemberCalls.get("month_start")).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(decemberCalls.get("month_end")).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
        assertThat((BigDecimal) decemberCalls.get("billable_quantity")).isEqualByComparingTo("7");

        Map<String, Object> novemberSeats = months.get(2);
        assertThat(novemberSeats.get("latest_value_type")).isEqualTo("ABSOLUTE");
        assertThat((BigDecimal) novemberSeats.get("billable_quantity")).isEqualByComparingTo("3");
        assertThat(novemberSeats.get("latest_event_id")).isEqualTo("s9");
        assertThat(novemberSeats.get("latest_event_time")).isEqualTo(Instant.parse("2026-11-20T09:00:00Z"));
        assertThat((BigDecimal) novemberSeats.get("max_value")).isEqualByComparingTo("8");
        assertThat(novemberSeats.get("event_count")).isEqualTo(3L);
    }

    @Test
    void analystRoleReadsTheViewsAndNothingElse() throws SQLException {
        write(Rollups.delta("analyst", "api", WindowSize.DAY, "2026-11-20T00:00:00Z", 2, "4"),
                Rollups.delta("analyst", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 2, "4"));
        assertThat(single("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'metering_analyst'").get("rolcanlogin")).isEqualTo(false);

        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SET ROLE metering_analyst");
            for (String view : List.of("usage_hourly", "usage_daily", "usage_monthly")) {
                try (ResultSet result = statement.executeQuery("SELECT count(*) FROM " + view + " WHERE billing_account_id = 'analyst'")) {
                    result.next();
                    assertThat(result.getLong(1)).as(view).isEqualTo(1);
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
            statement.execute("RESET ROLE");
        }
        assertThat(single("SELECT event_count FROM usage_rollups WHERE billing_account_id = 'analyst' AND window_size = 'DAY'").get("event_count"))
                .isEqualTo(2L);
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
            assertThat(Migrations.migrate(second, 0, Duration.ofSeconds(1)).migrationsExecuted).as("every migration").isEqualTo(4);
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
        write(Rollups.delta("acct-42", "api_calls", WindowSize.DAY, today.toString(), 3, "42.5"),
                Rollups.delta("acct-42", "api_calls", WindowSize.DAY, yesterday.toString(), 2, "1000"),
                Rollups.delta("acct-7", "api_calls", WindowSize.DAY, yesterday.toString(), 2, "10"),
                Rollups.delta("acct-42", "api_calls", WindowSize.DAY, lastMonth.toString(), 2, "8"),
                Rollups.delta("acct-42", "api_calls", WindowSize.HOUR, thisHour.toString(), 3, "42.5"));

        List<String> queries = readmeQueries();
        assertThat(queries).hasSize(4);
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
            assertThat(row.get("billing_account_id")).isEqualTo("acct-42");
            assertThat((BigDecimal) row.get("billable_quantity")).isEqualByComparingTo(yesterdayInLastMonth ? "1008" : "8");
        });
    }

    @Test
    void migratingAgainIsANoOp() {
        assertThat(Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1)).migrationsExecuted).isZero();
    }
}
