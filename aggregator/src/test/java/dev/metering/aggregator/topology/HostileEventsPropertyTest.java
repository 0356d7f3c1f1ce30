package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.avro.IdSpace;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.embedded.Directories;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Topics;
import dev.metering.schemas.Verdict;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Whatever a direct producer writes that decodes, the aggregator never stops on it: every record is counted once as
 * accepted, a duplicate or a dead letter with its reason, and every rollup it emits can be read back. A record that made
 * the processor throw after a write would be retried from the last commit forever, and no other account of its partition
 * would be counted meanwhile; before any write it would be set aside as PROCESSING_FAILED, which is a bug all the same. Field values are drawn from small pools (so that ids repeat: duplicates, conflicts, reverts of
 * known usages) and from hostile ones: control characters, NUL, lone surrogates, long strings, extreme times and
 * quantities, keys that are not the account.
 */
class HostileEventsPropertyTest {
    private static final Instant ARRIVAL = Instant.parse("2026-03-10T10:00:00Z");
    private static final int TRIES = 150;

    private record Sent(UsageEvent event, byte[] key, long arrivalOffsetMillis, boolean verdictRequested) {
    }

    @Property(tries = TRIES)
    void everyDecodableRecordIsAcceptedCountedAsADuplicateOrDeadLettered(@ForAll("batches") List<Sent> batch) {
        Path stateDir = Directories.temporary("hostile-events-");
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://hostile-events-" + UUID.randomUUID());
        AggregatorMetrics metrics = new AggregatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        try (TopologyTestDriver driver = TopologyDrivers.start(stateDir, registry, metrics)) {
            TestInputTopic<byte[], byte[]> input = driver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
            TestOutputTopic<byte[], byte[]> deadLetters = driver.createOutputTopic(Topics.USAGE_EVENTS_DLQ, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
            TestOutputTopic<RollupKey, Rollup> rollups = driver.createOutputTopic(Topics.USAGE_ROLLUPS,
                    new AvroDeserializer<>(RollupKey.class, registry), new AvroDeserializer<>(Rollup.class, registry));

            for (Sent sent : batch) {
                byte[] value = serializer.serialize(Topics.USAGE_EVENTS, sent.event());
                Instant arrival = ARRIVAL.plusMillis(sent.arrivalOffsetMillis());
                RecordHeaders headers = new RecordHeaders();
                if (sent.verdictRequested()) {
                    headers.add(Verdict.REQUESTED_HEADER, new byte[] {1}); // as Frontier's endpoints ask for the verdict
                }
                assertThatCode(() -> input.pipeInput(new TestRecord<>(sent.key(), value, headers, arrival)))
                        .as("processing %s", sent.event()).doesNotThrowAnyException();
            }
            assertThatCode(() -> driver.advanceWallClockTime(Duration.ofSeconds(1))).as("emitting the changed hours").doesNotThrowAnyException();

            long dead = deadLetters.readRecordsToList().stream()
                    .peek(record -> assertThat(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER)).as("a dead letter's reason")
                            // PROCESSING_FAILED keeps the partition going, but it is a bug of ours, not a verdict on the data.
                            .isNotBlank().isNotEqualTo(DeadLetter.Reason.PROCESSING_FAILED.name()))
                    .count();
            assertThat(metrics.acceptedCount() + metrics.duplicateCount() + dead).as("each record counted once").isEqualTo(batch.size());
            Statistics.label("some accepted").collect(metrics.acceptedCount() > 0);
            Statistics.label("some dead-lettered").collect(dead > 0);
            Statistics.label("some duplicates").collect(metrics.duplicateCount() > 0);
            assertThat(rollups.readRecordsToList()).allSatisfy(rollup -> assertThat(rollup.value().getEventCount()).isPositive());
        } finally {
            Directories.deleteRecursively(stateDir);
        }
    }

    @Provide
    Arbitrary<List<Sent>> batches() {
        // Mostly what a producer would send, so that events are accepted, duplicated and reverted; hostile values mixed in.
        Arbitrary<String> ids = mostly(Arbitraries.of("e-1", "e-2", "e-3", "e-4", "u-1", "u-2"), hostileStrings());
        Arbitrary<String> accounts = mostly(Arbitraries.of("acct-1", "acct-2"), hostileStrings());
        Arbitrary<String> tenants = mostly(Arbitraries.of(null, "org-a", "default"), hostileStrings());
        Arbitrary<String> features = mostly(Arbitraries.of("api-calls", "seats"), hostileStrings());
        Arbitrary<String> reverts = Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(null)), Tuple.of(3, Arbitraries.of("e-1", "e-2", "u-1")),
                Tuple.of(1, hostileStrings()));
        // Within the schema's decimal(38, 12), negatives and zero included; more digits do not serialize at all.
        Arbitrary<BigDecimal> quantities = mostly(
                Arbitraries.bigDecimals().between(BigDecimal.ZERO, new BigDecimal("1000")).ofScale(3),
                Arbitraries.oneOf(
                        Arbitraries.of("0", "-1", "0.000000000001", "99999999999999999999999999.999999999999",
                                "-99999999999999999999999999.999999999999").map(BigDecimal::new),
                        Arbitraries.bigIntegers().between(BigInteger.TEN.pow(38).negate().add(BigInteger.ONE), BigInteger.TEN.pow(38).subtract(BigInteger.ONE))
                                .map(unscaled -> new BigDecimal(unscaled, 12))))
                .map(quantity -> quantity.setScale(12));
        Arbitrary<Long> eventTimeOffsets = mostly(Arbitraries.longs().between(-Duration.ofHours(3).toMillis(), Duration.ofMinutes(4).toMillis()),
                Arbitraries.of(Long.MIN_VALUE / 2, Long.MAX_VALUE / 2, -ARRIVAL.toEpochMilli(), Duration.ofDays(3).toMillis(), -Duration.ofDays(3).toMillis()));
        Arbitrary<Long> receivedOffsets = mostly(Arbitraries.longs().between(-Duration.ofSeconds(5).toMillis(), 0),
                Arbitraries.of(Long.MIN_VALUE / 2, Long.MAX_VALUE / 2, -ARRIVAL.toEpochMilli(), -Duration.ofDays(300L * 366).toMillis()));
        Arbitrary<Map<String, String>> metadata = Arbitraries.oneOf(Arbitraries.just(null),
                Arbitraries.maps(hostileStrings(), hostileStrings()).ofMaxSize(3));
        Arbitrary<String> texts = mostly(Arbitraries.just(null), hostileStrings());

        Arbitrary<UsageEvent> events = Combinators.combine(
                Combinators.combine(ids, accounts, tenants, features, quantities, Arbitraries.of(ValueType.class), eventTimeOffsets, receivedOffsets)
                        .as((id, account, tenant, feature, quantity, type, eventTimeOffset, receivedOffset) -> UsageEvent.newBuilder()
                                .setEventId(id).setBillingAccountId(account).setOrgId(tenant).setFeatureCode(feature).setQuantity(quantity)
                                .setValueType(type).setEventTime(ARRIVAL.plusMillis(eventTimeOffset))
                                .setReceivedAt(ARRIVAL.plusMillis(receivedOffset))),
                mostly(Arbitraries.just(IdSpace.NATIVE), Arbitraries.of(IdSpace.class)), Arbitraries.of(true, false), reverts, metadata, texts)
                .as((builder, idSpace, defaulted, revertOf, meta, text) -> builder.setIdSpace(idSpace).setEventTimeDefaulted(defaulted)
                        .setRevertsEventId(revertOf).setMetadata(meta).setDescription(text).setUsageType(text).setUserId(text)
                        .setProjectId(text).setOrigin(text).build());

        // Arrivals mostly in order, a few minutes apart, sometimes back in time.
        Arbitrary<Sent> sent = Combinators.combine(events, Arbitraries.integers().between(0, 19),
                        mostly(Arbitraries.longs().between(0, Duration.ofMinutes(5).toMillis()), Arbitraries.oneOf(
                                Arbitraries.longs().between(-Duration.ofHours(2).toMillis(), Duration.ofDays(3).toMillis()),
                                // a broker clock gone wrong (arrival is the broker's LogAppendTime)
                                Arbitraries.of(Duration.ofDays(365L * 100).toMillis(), -ARRIVAL.toEpochMilli(), Long.MAX_VALUE / 4))),
                        Arbitraries.of(true, false))
                .as((event, keyChoice, arrival, verdict) -> new Sent(event, key(event, keyChoice), arrival, verdict));
        // Some records sent again later, as a producer's retry would.
        return sent.list().ofMinSize(1).ofMaxSize(50).flatMap(list -> Arbitraries.integers().between(0, list.size() - 1).list().ofMaxSize(10)
                .map(again -> {
                    List<Sent> withRetries = new ArrayList<>(list);
                    again.forEach(index -> withRetries.add(list.get(index)));
                    return withRetries;
                }));
    }

    /** The usual values nine times in ten, the others the rest. */
    private static <T> Arbitrary<T> mostly(Arbitrary<T> usual, Arbitrary<T> others) {
        return Arbitraries.frequencyOf(Tuple.of(9, usual), Tuple.of(1, others));
    }

    /** Mostly the account, as producers key it; sometimes none, another account or bytes that are not UTF-8. */
    private static byte[] key(UsageEvent event, int choice) {
        return switch (choice) {
            case 0 -> null;
            case 1 -> "acct-other".getBytes(StandardCharsets.UTF_8);
            case 2 -> new byte[] {(byte) 0xff, (byte) 0xfe, 0};
            default -> event.getBillingAccountId().getBytes(StandardCharsets.UTF_8);
        };
    }

    private static Arbitrary<String> hostileStrings() {
        return Arbitraries.oneOf(
                Arbitraries.of("", " ", "\u0000", "a\u0000b", "\ud800", "\udfff", "e\u0301", "\u00e9", "\u202e", "\t\n\r", "ΩΩ", "🙂",
                        "DROP TABLE usage_rollups;--", "acct-1 ", " acct-1"),
                Arbitraries.strings().all().ofMaxLength(40),
                Arbitraries.strings().withCharRange('a', 'z').ofMinLength(200).ofMaxLength(3000));
    }
}
