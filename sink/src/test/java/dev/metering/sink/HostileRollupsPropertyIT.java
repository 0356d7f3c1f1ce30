package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import dev.metering.sink.consume.RollupDecoder;
import dev.metering.sink.periods.PeriodRefresher;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RollupRow;
import dev.metering.sink.store.RollupStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * Whatever reaches {@code usage-rollups} (the aggregator writes it, but any producer can), the sink never stops on
 * it: every batch is written, each record is stored or kept in {@code sink_rejected_records} with its reason, and the
 * stored offset moves past the batch. A batch the sink could neither write nor reject would be retried forever, and
 * no account's rollups would reach PostgreSQL after it. Values are mostly what the aggregator sends, with hostile ones
 * mixed in: control characters, NUL, lone surrogates, long and non-NFC strings, extreme times and decimals, keys that
 * do not match their values, undecodable bytes and tombstones.
 */
class HostileRollupsPropertyIT {
    private static final Instant HOUR = Instant.parse("2026-03-10T10:00:00Z");
    private static final AtomicInteger TRY = new AtomicInteger();
    private static PostgresDatabase database;
    private static final SchemaRegistryClient REGISTRY = SchemaRegistryClient.forUrl("mem://hostile-rollups");

    @BeforeContainer
    static void migrate() {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
    }

    @AfterContainer
    static void close() {
        if (database != null) {
            database.close();
        }
    }

    /** A record as it arrives: a rollup under its key or another, undecodable bytes, or a tombstone. */
    private record Sent(Rollup rollup, int shape) {
    }

    @Property(tries = 60)
    void everyRecordIsStoredOrRejectedAndTheOffsetMovesOn(@ForAll("batches") List<Sent> sent) throws SQLException {
        String topic = "usage-rollups-hostile-" + TRY.incrementAndGet(); // rejected records are keyed by topic, partition, offset
        TopicPartition partition = new TopicPartition(topic, 0);
        AvroSerializer<RollupKey> keys = new AvroSerializer<>(REGISTRY, true);
        AvroSerializer<Rollup> values = new AvroSerializer<>(REGISTRY, false);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (Sent record : sent) {
            Rollup rollup = record.rollup();
            RollupKey ownKey = new RollupKey(rollup.getOrgId(), rollup.getBillingAccountId(), rollup.getFeatureCode(), rollup.getWindowSize(),
                    rollup.getWindowStart());
            byte[] key = keys.serialize(topic, ownKey);
            byte[] value = switch (record.shape()) {
                case 0 -> null;
                case 1 -> new byte[] {0, 0, 0, 0, 1, 7};
                default -> values.serialize(topic, rollup);
            };
            if (record.shape() == 2) {
                key = keys.serialize(topic, new RollupKey(ownKey.getOrgId(), "another-account", ownKey.getFeatureCode(), ownKey.getWindowSize(),
                        ownKey.getWindowStart()));
            }
            records.add(new ConsumerRecord<>(topic, 0, records.size(), key, value));
        }
        Batch batch = new RollupDecoder(REGISTRY).decode(new ConsumerRecords<>(Map.of(partition, records), Map.of()));
        RollupStore store = new RollupStore(database.dataSource(), "hostile-" + topic);
        Map<TopicPartition, Long> expected = new HashMap<>();
        expected.put(partition, null);

        RollupStore.WriteResult result = store.write(batch, expected); // an outage or a bug would throw here

        assertThat(store.storedOffsets(topic)).as("the offset moved past the batch").containsEntry(0, (long) records.size());
        Set<Long> refused = result.refused().stream().map(RejectedRecord::recordOffset).collect(Collectors.toSet());
        assertThat(rejectedOffsets(topic)).as("rejected by the sink or refused by PostgreSQL, each kept with its reason")
                .hasSize(batch.rejected().size() + refused.size());
        for (RollupRow row : batch.rows()) {
            if (!refused.contains(batch.sourceOf(row).offset())) {
                assertThat(stored(row)).as("stored: %s", row).isTrue();
            }
        }
        // What was stored must also fold into days and months: a day the refresh cannot fold would be retried every
        // second, oldest first, and hold up every other day behind it.
        PeriodRefresher refresher = new PeriodRefresher(database.dataSource(), new SinkConfig.PeriodRefresh(Duration.ofSeconds(30), 1000),
                Duration.ofMinutes(10), new SimpleMeterRegistry());
        refresher.refreshStale(Duration.ZERO);
        assertThat(count("SELECT count(*) FROM usage_periods_stale")).as("no day left stale").isZero();
        assertThat(count("SELECT count(*) FROM usage_daily")).as("the views fold what is stored").isNotNegative();
        assertThat(count("SELECT count(*) FROM usage_monthly")).isNotNegative();
    }

    private static long count(String sql) throws SQLException {
        try (Connection connection = database.dataSource().getConnection(); PreparedStatement query = connection.prepareStatement(sql);
             ResultSet rows = query.executeQuery()) {
            rows.next();
            return rows.getLong(1);
        }
    }

    @Provide
    Arbitrary<List<Sent>> batches() {
        Arbitrary<String> orgs = mostly(Arbitraries.of("default", "org-a"), hostileStrings());
        Arbitrary<String> accounts = mostly(Arbitraries.of("acct-1", "acct-2", "acct-3"), hostileStrings());
        Arbitrary<String> features = mostly(Arbitraries.of("api-calls", "seats"), hostileStrings());
        Arbitrary<String> eventIds = mostly(Arbitraries.of("e-1", "e-2"), hostileStrings());
        Arbitrary<Instant> hours = mostly(Arbitraries.integers().between(-48, 48).map(h -> HOUR.plus(Duration.ofHours(h))),
                Arbitraries.of(Instant.ofEpochMilli(0), Instant.ofEpochMilli(-62_135_596_800_000L), Instant.ofEpochMilli(Long.MAX_VALUE / 4 / 3_600_000 * 3_600_000),
                        Instant.ofEpochMilli(Long.MIN_VALUE / 4 / 3_600_000 * 3_600_000), HOUR.plusSeconds(1800),
                        // PostgreSQL's own limits of timestamptz, to the hour
                        Instant.parse("+294276-12-31T23:00:00Z"), Instant.parse("-4713-11-24T00:00:00Z"), Instant.parse("9999-12-31T23:00:00Z")));
        Arbitrary<Instant> times = mostly(Arbitraries.longs().between(0, 3_599_999).map(HOUR::plusMillis),
                Arbitraries.of(Instant.ofEpochMilli(Long.MAX_VALUE), Instant.ofEpochMilli(Long.MIN_VALUE), Instant.ofEpochMilli(0)));
        Arbitrary<BigDecimal> wide = mostly(Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("100000")).ofScale(3),
                Arbitraries.bigIntegers().between(BigInteger.TEN.pow(50).negate().add(BigInteger.ONE), BigInteger.TEN.pow(50).subtract(BigInteger.ONE))
                        .map(unscaled -> new BigDecimal(unscaled, 12))).map(value -> value.setScale(12));
        Arbitrary<BigDecimal> narrow = mostly(Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("1000")).ofScale(3),
                Arbitraries.bigIntegers().between(BigInteger.TEN.pow(38).negate().add(BigInteger.ONE), BigInteger.TEN.pow(38).subtract(BigInteger.ONE))
                        .map(unscaled -> new BigDecimal(unscaled, 12))).map(value -> value.setScale(12));
        Arbitrary<Long> counts = mostly(Arbitraries.longs().between(1, 1000),
                Arbitraries.of(0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 100_000_000_000_000L, 100_000_000_000_001L));

        Arbitrary<Rollup.Builder> identity = Combinators.combine(orgs, accounts, features, hours, mostly(Arbitraries.just(WindowSize.HOUR),
                        Arbitraries.of(WindowSize.class)), counts, counts)
                .as((org, account, feature, hour, size, count, reverts) -> Rollup.newBuilder().setOrgId(org).setBillingAccountId(account)
                        .setFeatureCode(feature).setWindowSize(size).setWindowStart(hour)
                        .setWindowEnd(size == WindowSize.HOUR ? hour.plus(Duration.ofHours(1)) : hour.plus(Duration.ofDays(1)))
                        .setEventCount(count).setRevertCount(reverts < 0 || reverts > 100 ? reverts : 0));
        Arbitrary<Rollup> rollups = Combinators.combine(identity, wide, wide, wide, Combinators.combine(narrow, narrow, narrow).as(List::of),
                        Combinators.combine(times, times, times, times).as(List::of), eventIds,
                        Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.just(0)), Tuple.of(1, Arbitraries.of(1, 2))))
                .as((builder, sum, billable, reverted, decimals, at, eventId, absolute) -> {
                    builder.setQuantitySum(sum).setBillableQuantity(billable).setRevertedQuantity(reverted.abs())
                            .setLatestValue(decimals.get(0)).setMinValue(decimals.get(1)).setMaxValue(decimals.get(2))
                            .setLatestValueType(absolute == 0 ? ValueType.DELTA : ValueType.ABSOLUTE)
                            .setLatestEventTime(at.get(0)).setFirstEventTime(at.get(1)).setLastEventTime(at.get(2)).setUpdatedAt(at.get(3))
                            .setLatestEventId(eventId);
                    if (absolute == 1) {
                        builder.setLatestAbsoluteEventTime(at.get(0)).setLatestAbsoluteEventId(eventId);
                    } else if (absolute == 2) {
                        builder.setLatestAbsoluteEventId(eventId); // half an ABSOLUTE: invalid
                    }
                    return builder.build();
                });
        // shape: 0 tombstone, 1 undecodable, 2 another key, otherwise the rollup under its own key
        Arbitrary<Integer> shapes = Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.of(0, 1, 2)), Tuple.of(12, Arbitraries.just(3)));
        return Combinators.combine(rollups, shapes).as(Sent::new).list().ofMinSize(1).ofMaxSize(40);
    }

    /** The usual values nine times in ten, the others the rest. */
    private static <T> Arbitrary<T> mostly(Arbitrary<T> usual, Arbitrary<T> others) {
        return Arbitraries.frequencyOf(Tuple.of(9, usual), Tuple.of(1, others));
    }

    private static Arbitrary<String> hostileStrings() {
        return Arbitraries.oneOf(
                Arbitraries.of("", " ", "\u0000", "a\u0000b", "\ud800", "e\u0301", "\u00e9", "\u202e", "\t\n\r", "🙂", "acct-1 ", "x'; DROP TABLE usage_rollups;--"),
                Arbitraries.strings().all().ofMaxLength(30),
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(90).ofMaxLength(3000));
    }

    private static Set<Long> rejectedOffsets(String topic) throws SQLException {
        try (Connection connection = database.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement("SELECT record_offset FROM sink_rejected_records WHERE topic = ?")) {
            query.setString(1, topic);
            Set<Long> offsets = new java.util.HashSet<>();
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    offsets.add(rows.getLong(1));
                }
            }
            return offsets;
        }
    }

    private static boolean stored(RollupRow row) throws SQLException {
        try (Connection connection = database.dataSource().getConnection();
             PreparedStatement query = connection.prepareStatement("SELECT 1 FROM usage_rollups WHERE org_id = ? AND billing_account_id = ? "
                     + "AND feature_code = ? AND window_size = ? AND window_start = ?")) {
            query.setString(1, row.orgId());
            query.setString(2, row.billingAccountId());
            query.setString(3, row.featureCode());
            query.setString(4, row.windowSize());
            // OffsetDateTime, not Timestamp: java.sql.Timestamp shifts dates before 1582 to the Julian calendar
            query.setObject(5, row.windowStart().atOffset(java.time.ZoneOffset.UTC));
            try (ResultSet rows = query.executeQuery()) {
                return rows.next();
            }
        }
    }
}
