package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import dev.metering.schemas.Verdict;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.registry.SchemaRegistryException;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record that makes the aggregator's own code fail (a bug its data meets) must not stop its partition: before the
 * record wrote anything it is dead-lettered as PROCESSING_FAILED, counted, and the records after it are counted as
 * usual. Outages (a store, the broker, the registry) are still thrown, so that the transaction is retried.
 */
class ProcessingFailureTest {
    private static final Instant T0 = Instant.parse("2026-03-10T10:00:00Z");

    @TempDir
    Path stateDir;

    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://processing-failure-test-" + UUID.randomUUID());
    private final AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
    private final AggregatorMetrics metrics = new AggregatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    /** Event ids whose processing fails, and with what. */
    private final Map<String, RuntimeException> failures = new ConcurrentHashMap<>();
    /** A failure of the clock, which the processor reads only after an accepted event's writes (for the lag metric). */
    private volatile RuntimeException clockFailure;
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> input;
    private TestOutputTopic<byte[], byte[]> dlq;
    private TestOutputTopic<String, byte[]> verdicts;
    private TestOutputTopic<RollupKey, Rollup> rollups;
    /** The latest rollup per key, as a reader of the compacted topic sees it. */
    private final Map<RollupKey, Rollup> latest = new java.util.HashMap<>();

    @BeforeEach
    void start() {
        ProcessingHooks failing = event -> {
            RuntimeException failure = failures.get(event.getEventId());
            if (failure != null) {
                throw failure;
            }
        };
        Clock clock = new Clock() {
            @Override
            public Instant instant() {
                if (clockFailure != null) {
                    throw clockFailure;
                }
                return Instant.now();
            }

            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                throw new UnsupportedOperationException();
            }
        };
        driver = TopologyDrivers.start(stateDir, registry, metrics, failing, clock);
        input = driver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
        dlq = driver.createOutputTopic(Topics.USAGE_EVENTS_DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        verdicts = driver.createOutputTopic(Topics.USAGE_VERDICTS, new StringDeserializer(), new ByteArrayDeserializer());
        rollups = driver.createOutputTopic(Topics.USAGE_ROLLUPS, new AvroDeserializer<>(RollupKey.class, registry),
                new AvroDeserializer<>(Rollup.class, registry));
    }

    @AfterEach
    void close() {
        driver.close();
    }

    @Test
    void aRecordThatMeetsABugIsDeadLetteredAndTheOthersAreCounted() {
        failures.put("e-2", new IllegalStateException("a bug"));

        send(usage("e-1", "1"));
        send(usage("e-2", "10"));
        send(usage("e-3", "100"));

        List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
        assertThat(dead).hasSize(1);
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.REASON_HEADER)).isEqualTo(Reason.PROCESSING_FAILED.name());
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.DETAIL_HEADER)).isEqualTo("java.lang.IllegalStateException: a bug");
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.SOURCE_HEADER)).isEqualTo("usage-events-0@1");
        assertThat(dead.get(0).value()).as("the original bytes, for a replay").isEqualTo(serializer.serialize(Topics.USAGE_EVENTS, usage("e-2", "10").build()));
        assertThat(metrics.deadLetteredCount(Reason.PROCESSING_FAILED)).isEqualTo(1);
        assertThat(verdicts.readRecordsToList()).as("nobody asked for a verdict").isEmpty();
        assertThat(hour()).as("e-1 and e-3").satisfies(rollup -> {
            assertThat(rollup.getEventCount()).isEqualTo(2);
            assertThat(rollup.getQuantitySum()).isEqualByComparingTo("101");
        });

        // Nothing of e-2 was remembered: replayed from the DLQ once the bug is fixed, it is counted once.
        failures.clear();
        input.pipeInput(new TestRecord<>(dead.get(0).key(), dead.get(0).value(), null, T0.plusSeconds(60)));
        assertThat(dlq.readRecordsToList()).isEmpty();
        assertThat(hour().getEventCount()).isEqualTo(3);
        assertThat(hour().getQuantitySum()).isEqualByComparingTo("111");
    }

    @Test
    void aRevertThatMeetsABugIsDeadLetteredBeforeItTouchesTheUsage() {
        send(usage("u-1", "10"));
        failures.put("r-1", new ArithmeticException("a bug"));

        send(usage("r-1", "4").setRevertsEventId("u-1").build());
        send(usage("r-2", "3").setRevertsEventId("u-1").build());

        List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
        assertThat(dead).extracting(record -> DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER))
                .containsExactly(Reason.PROCESSING_FAILED.name());
        // The ingest API waits for every revert's verdict: it gets this one at once (answered 500), not after its timeout.
        assertThat(verdicts.readValuesToList()).extracting(Verdict::fromJson)
                .extracting(Verdict::eventId, Verdict::outcome, Verdict::rejectionReason)
                .containsExactly(tuple("r-1", Verdict.Outcome.REJECTED, Reason.PROCESSING_FAILED), tuple("r-2", Verdict.Outcome.APPLIED, null));
        assertThat(hour().getQuantitySum()).as("only r-2 applied").isEqualByComparingTo("7");
        assertThat(hour().getRevertedQuantity()).isEqualByComparingTo("3");
    }

    @Test
    void aFailureAfterTheRecordWroteIsThrownSoThatNothingOfItStaysHalfApplied() {
        clockFailure = new IllegalStateException("a bug after the writes");

        assertThatThrownBy(() -> send(usage("e-1", "1"))).satisfies(thrown ->
                assertThat(java.util.stream.Stream.iterate(thrown, java.util.Objects::nonNull, Throwable::getCause)).contains(clockFailure));
        assertThat(dlq.readRecordsToList()).as("retried with the transaction, not set aside").isEmpty();
        assertThat(metrics.deadLetteredCount(Reason.PROCESSING_FAILED)).isZero();
    }

    @Test
    void outagesAreThrownSoThatTheTransactionIsRetried() {
        for (RuntimeException outage : List.of(new ProcessorStateException("RocksDB failed"),
                new SchemaRegistryException("registry unreachable", -1, -1, null))) {
            failures.put("e-1", outage);

            assertThatThrownBy(() -> send(usage("e-1", "1")))
                    .satisfies(thrown -> assertThat(java.util.stream.Stream.iterate(thrown, java.util.Objects::nonNull, Throwable::getCause)).contains(outage));
        }
        assertThat(dlq.readRecordsToList()).isEmpty();
        assertThat(Set.of(Reason.values())).allSatisfy(reason -> assertThat(metrics.deadLetteredCount(reason)).isZero());
    }

    private UsageEvent.Builder usage(String id, String quantity) {
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setBillingAccountId("acct-1")
                .setFeatureCode("api-calls")
                .setQuantity(new BigDecimal(quantity).setScale(12))
                .setValueType(ValueType.DELTA)
                .setEventTime(T0)
                .setReceivedAt(T0);
    }

    private void send(UsageEvent.Builder event) {
        send(event.build());
    }

    private void send(UsageEvent event) {
        input.pipeInput(new TestRecord<>(event.getBillingAccountId().getBytes(StandardCharsets.UTF_8),
                serializer.serialize(Topics.USAGE_EVENTS, event), null, T0.plusSeconds(1)));
    }

    private Rollup hour() {
        driver.advanceWallClockTime(Duration.ofMillis(100));
        latest.putAll(rollups.readKeyValuesToMap());
        assertThat(latest).hasSize(1);
        return latest.values().iterator().next();
    }
}
