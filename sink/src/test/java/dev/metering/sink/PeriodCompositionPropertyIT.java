package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.SinkConfig.PeriodRefresh;
import dev.metering.sink.periods.PeriodRefresher;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.RollupRow;
import dev.metering.sink.store.RollupStore;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.common.TopicPartition;

/**
 * Days and months are composed from hours in PostgreSQL (the usage_daily and usage_monthly views) by the rule of
 * DESIGN.md: the latest hour of the period holding an ABSOLUTE bills its billable quantity, every later hour adds its
 * own; without an ABSOLUTE the period bills the sum. Random hours across a month boundary, written through the sink's
 * store in several transactions, each hour first as an earlier version that a later one replaces (as the aggregator
 * re-emits an hour), against that rule written out in Java, and months against their days composed once more.
 * Deleting hours (an operator's repair) changes their days and months accordingly.
 *
 * <p>The views read the day and month tables for periods without a stale day and fold the others on read (migration
 * V9), so they are checked at every stage: with the tables refreshed between the transactions or not, after a full
 * refresh (then the tables themselves hold the expected rows and no day of the account is left stale), and after
 * deleting hours, before and after the next refresh.
 */
class PeriodCompositionPropertyIT {
    private static final Instant FIRST_HOUR = Instant.parse("2026-01-30T00:00:00Z");
    private static final int HOURS = 24 * 4; // 30 January to 2 February: two months, four days
    private static final AtomicLong ACCOUNTS = new AtomicLong();
    private static PostgresDatabase database;
    private static RollupStore store;
    private static PeriodRefresher refresher;

    @BeforeContainer
    static void migrate() {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
        store = new RollupStore(database.dataSource(), "period-composition");
        refresher = new PeriodRefresher(database.dataSource(), new PeriodRefresh(Duration.ofSeconds(30), 7), Duration.ofMinutes(10),
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
    }

    @AfterContainer
    static void close() {
        if (database != null) {
            database.close();
        }
    }

    /** One stored hour as the aggregator emits it. */
    record Hour(int index, BigDecimal deltaSum, BigDecimal billable, boolean hasAbsolute, long events, BigDecimal min, BigDecimal max,
                BigDecimal reverted) {
        Instant start() {
            return FIRST_HOUR.plus(Duration.ofHours(index));
        }
    }

    /** Expected figures of one period. */
    record Period(BigDecimal billable, BigDecimal quantitySum, long events, BigDecimal min, BigDecimal max, BigDecimal reverted, boolean hasAbsolute) {
        Period normalised() {
            return new Period(billable.stripTrailingZeros(), quantitySum.stripTrailingZeros(), events, min.stripTrailingZeros(),
                    max.stripTrailingZeros(), reverted.stripTrailingZeros(), hasAbsolute);
        }
    }

    @Property(tries = 40)
    void daysAndMonthsBillWhatTheirHoursGiveByTheRule(@ForAll("hourSets") List<Hour> hours, @ForAll @IntRange(min = 1, max = 4) int transactions,
                                                      @ForAll boolean earlierVersionsFirst, @ForAll boolean refreshBetweenTransactions,
                                                      @ForAll @IntRange(min = 0, max = 3) int hoursDeleted)
            throws SQLException {
        String account = "compose-" + ACCOUNTS.incrementAndGet();
        write(account, hours, transactions, earlierVersionsFirst, refreshBetweenTransactions);
        assertPeriodsComposeFrom(hours, account);
        refresher.refreshStale(Duration.ZERO);
        assertThat(staleDays(account)).isZero();
        assertPeriodsComposeFrom(hours, account);
        assertTablesHold(hours, account);

        List<Hour> kept = new ArrayList<>(hours);
        List<Instant> deleted = new ArrayList<>();
        for (int i = 0; i < hoursDeleted && kept.size() > 1; i++) {
            deleted.add(kept.remove(kept.size() / 2).start());
        }
        if (!deleted.isEmpty()) {
            delete(account, deleted);
            assertPeriodsComposeFrom(kept, account);
            refresher.refreshStale(Duration.ZERO);
            assertPeriodsComposeFrom(kept, account);
            assertTablesHold(kept, account);
        }
    }

    /** A month (and a day) whose every hour was deleted leaves the tables at the next refresh; its neighbours stay. */
    @Example
    void aMonthWhoseHoursWereAllDeletedLeavesTheTables() throws SQLException {
        String account = "compose-" + ACCOUNTS.incrementAndGet();
        BigDecimal amount = new BigDecimal("2.5").setScale(12);
        Hour january = new Hour(30, amount, amount, false, 3, amount, amount, BigDecimal.ZERO.setScale(12));
        Hour february = new Hour(60, amount, amount, false, 4, amount, amount, BigDecimal.ZERO.setScale(12));
        write(account, List.of(january, february), 1, false, false);
        refresher.refreshStale(Duration.ZERO);
        assertTablesHold(List.of(january, february), account);

        delete(account, List.of(february.start()));
        refresher.refreshStale(Duration.ZERO);
        assertThat(stored("usage_monthly_rollups", "month_start", account)).as("months left").hasSize(1);
        assertTablesHold(List.of(january), account);
        assertPeriodsComposeFrom(List.of(january), account);
    }

    private static void assertTablesHold(List<Hour> hours, String account) throws SQLException {
        assertThat(stored("usage_daily_rollups", "window_start", account)).isEqualTo(normalised(compose(hours, start -> start.truncatedTo(ChronoUnit.DAYS))));
        assertThat(stored("usage_monthly_rollups", "month_start", account))
                .isEqualTo(normalised(compose(hours, start -> start.atZone(ZoneOffset.UTC).withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).toInstant())));
    }

    private static long staleDays(String account) throws SQLException {
        try (Connection connection = database.dataSource().getConnection();
             PreparedStatement statement = connection.prepareStatement(
                     "SELECT count(*) FROM usage_periods_stale WHERE org_id = 'default' AND billing_account_id = ?")) {
            statement.setString(1, account);
            try (ResultSet rows = statement.executeQuery()) {
                rows.next();
                return rows.getLong(1);
            }
        }
    }

    private static void assertPeriodsComposeFrom(List<Hour> hours, String account) throws SQLException {
        Map<Instant, Period> expectedDays = compose(hours, start -> start.truncatedTo(ChronoUnit.DAYS));
        Map<Instant, Period> expectedMonths = compose(hours, start -> start.atZone(ZoneOffset.UTC).withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).toInstant());

        assertThat(stored("usage_daily", "window_start", account)).isEqualTo(normalised(expectedDays));
        assertThat(stored("usage_monthly", "month_start", account)).isEqualTo(normalised(expectedMonths));
        // A month is also its days composed once more: a day holding an ABSOLUTE resets, the others add.
        assertThat(normalised(composePeriods(expectedDays, start -> start.atZone(ZoneOffset.UTC).withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).toInstant())))
                .isEqualTo(normalised(expectedMonths));
    }

    /** DESIGN.md's period rule, as written: the latest hour holding an ABSOLUTE, plus the later hours. */
    private static Map<Instant, Period> compose(List<Hour> hours, Function<Instant, Instant> periodOf) {
        Map<Instant, List<Hour>> byPeriod = new TreeMap<>();
        for (Hour hour : hours) {
            byPeriod.computeIfAbsent(periodOf.apply(hour.start()), p -> new ArrayList<>()).add(hour);
        }
        Map<Instant, Period> periods = new TreeMap<>();
        byPeriod.forEach((start, inPeriod) -> {
            int latestAbsolute = -1;
            for (int i = 0; i < inPeriod.size(); i++) {
                if (inPeriod.get(i).hasAbsolute()) {
                    latestAbsolute = i;
                }
            }
            BigDecimal billable = BigDecimal.ZERO;
            for (int i = Math.max(0, latestAbsolute); i < inPeriod.size(); i++) {
                billable = billable.add(inPeriod.get(i).billable());
            }
            periods.put(start, new Period(billable,
                    inPeriod.stream().map(Hour::deltaSum).reduce(BigDecimal.ZERO, BigDecimal::add),
                    inPeriod.stream().mapToLong(Hour::events).sum(),
                    inPeriod.stream().map(Hour::min).reduce(BigDecimal::min).orElseThrow(),
                    inPeriod.stream().map(Hour::max).reduce(BigDecimal::max).orElseThrow(),
                    inPeriod.stream().map(Hour::reverted).reduce(BigDecimal.ZERO, BigDecimal::add),
                    latestAbsolute >= 0));
        });
        return periods;
    }

    /** The same fold over shorter periods (in time order) instead of hours. */
    private static Map<Instant, Period> composePeriods(Map<Instant, Period> shorter, Function<Instant, Instant> periodOf) {
        Map<Instant, Period> longer = new TreeMap<>();
        shorter.forEach((start, period) -> longer.merge(periodOf.apply(start), period, (acc, next) -> new Period(
                next.hasAbsolute() ? next.billable() : acc.billable().add(next.billable()),
                acc.quantitySum().add(next.quantitySum()), acc.events() + next.events(), acc.min().min(next.min()),
                acc.max().max(next.max()), acc.reverted().add(next.reverted()), acc.hasAbsolute() || next.hasAbsolute())));
        return longer;
    }

    private static Map<Instant, Period> normalised(Map<Instant, Period> periods) {
        Map<Instant, Period> result = new TreeMap<>();
        periods.forEach((start, period) -> result.put(start, period.normalised()));
        return result;
    }

    /**
     * Writes the hours through the sink's store in {@code transactions} transactions of consecutive records. Every hour
     * is also written as an earlier version (one event, its ABSOLUTE flag flipped, another amount), which its final
     * version replaces: before it in the record order, or after it (a stale replay the sink ignores). With
     * {@code refreshBetweenTransactions} the day and month tables are refreshed after every transaction but the last,
     * so they hold earlier versions when the views are read.
     */
    private static void write(String account, List<Hour> hours, int transactions, boolean earlierVersionsFirst,
                              boolean refreshBetweenTransactions) {
        List<RollupRow> finals = hours.stream().map(hour -> row(account, hour)).toList();
        List<RollupRow> earlier = hours.stream()
                .map(hour -> row(account, new Hour(hour.index(), BigDecimal.ONE, BigDecimal.valueOf(hour.index() + 1), !hour.hasAbsolute(), 1,
                        BigDecimal.ONE, BigDecimal.valueOf(hour.index() + 1).max(BigDecimal.ONE), BigDecimal.ZERO)))
                .toList();
        List<RollupRow> records = new ArrayList<>(earlierVersionsFirst ? earlier : finals);
        records.addAll(earlierVersionsFirst ? finals : earlier);

        TopicPartition partition = new TopicPartition("compose-" + account, 0);
        Long expected = null;
        int perTransaction = Math.max(1, (records.size() + transactions - 1) / transactions);
        for (int from = 0; from < records.size(); from += perTransaction) {
            Batch.Builder batch = new Batch.Builder();
            for (int offset = from; offset < Math.min(records.size(), from + perTransaction); offset++) {
                batch.add(partition, offset, records.get(offset));
            }
            Map<TopicPartition, Long> expectedOffsets = new HashMap<>();
            expectedOffsets.put(partition, expected);
            Batch built = batch.build();
            store.write(built, expectedOffsets);
            expected = built.nextOffsets().get(partition);
            if (refreshBetweenTransactions && from + perTransaction < records.size()) {
                refresher.refreshStale(Duration.ZERO);
            }
        }
    }

    private static RollupRow row(String account, Hour hour) {
        Instant start = hour.start();
        Instant eventTime = start.plusSeconds(1800);
        return new RollupRow("default", account, "feature", "HOUR", start, start.plus(Duration.ofHours(1)),
                hour.events(), hour.deltaSum(), hour.billable(), hour.max(), hour.hasAbsolute() ? "ABSOLUTE" : "DELTA", eventTime,
                "e-" + hour.index(), hour.hasAbsolute() ? eventTime : null, hour.hasAbsolute() ? "e-" + hour.index() : null,
                hour.min(), hour.max(), start, eventTime, eventTime, hour.reverted(), hour.reverted().signum() > 0 ? 1 : 0);
    }

    /** Deletes hours as an operator's repair would, in one statement. */
    private static void delete(String account, List<Instant> starts) throws SQLException {
        try (Connection connection = database.dataSource().getConnection();
             PreparedStatement statement = connection.prepareStatement(
                     "DELETE FROM usage_rollups WHERE org_id = 'default' AND billing_account_id = ? AND window_start = ANY (?)")) {
            statement.setString(1, account);
            statement.setArray(2, connection.createArrayOf("timestamptz", starts.stream().map(s -> java.sql.Timestamp.from(s)).toArray()));
            statement.executeUpdate();
        }
    }

    private static Map<Instant, Period> stored(String view, String startColumn, String account) throws SQLException {
        String sql = "SELECT " + startColumn + " AS period_start, billable_quantity, quantity_sum, event_count, min_value, max_value, "
                + "reverted_quantity, latest_absolute_event_time IS NOT NULL AS has_absolute FROM " + view
                + " WHERE org_id = 'default' AND billing_account_id = ?";
        Map<Instant, Period> periods = new TreeMap<>();
        try (Connection connection = database.dataSource().getConnection(); PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, account);
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    periods.put(rows.getObject("period_start", java.time.OffsetDateTime.class).toInstant(), new Period(
                            rows.getBigDecimal("billable_quantity"), rows.getBigDecimal("quantity_sum"), rows.getLong("event_count"),
                            rows.getBigDecimal("min_value"), rows.getBigDecimal("max_value"), rows.getBigDecimal("reverted_quantity"),
                            rows.getBoolean("has_absolute")).normalised());
                }
            }
        }
        return periods;
    }

    /**
     * 1 to 40 distinct hours of the four days, in time order. An hour holding an ABSOLUTE bills a value of its own;
     * one without bills its DELTA sum (net of reverts, as the aggregator emits it).
     */
    @Provide
    Arbitrary<List<Hour>> hourSets() {
        Arbitrary<BigDecimal> amounts = Combinators.combine(Arbitraries.longs().between(0, 10_000_000L), Arbitraries.integers().between(0, 6))
                .as((unscaled, scale) -> BigDecimal.valueOf(unscaled, scale).setScale(12));
        Arbitrary<Hour> hours = Combinators.combine(Arbitraries.integers().between(0, HOURS - 1), amounts, amounts, Arbitraries.of(true, false, false),
                Arbitraries.longs().between(2, 50), amounts).as((index, deltaSum, absoluteValue, hasAbsolute, events, reverted) -> {
                    BigDecimal billable = hasAbsolute ? absoluteValue : deltaSum;
                    BigDecimal min = deltaSum.min(absoluteValue);
                    BigDecimal max = deltaSum.max(absoluteValue);
                    return new Hour(index, deltaSum, billable, hasAbsolute, events, min, max, reverted);
                });
        return hours.list().ofMinSize(1).ofMaxSize(40).uniqueElements(Hour::index)
                .map(list -> list.stream().sorted(java.util.Comparator.comparingInt(Hour::index)).toList());
    }
}
