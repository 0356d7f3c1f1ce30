package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AggregatorTopologyTest {
    private static final Instant T0 = Instant.parse("2026-03-10T10:00:00Z");
    private static final String ACCOUNT = "acct-1";

    @TempDir
    Path stateDir;

    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://aggregator-topology-test-" + UUID.randomUUID());
    private final AvroSerializer<UsageEvent> eventSerializer = new AvroSerializer<>(registry, false);
    private final AggregatorMetrics metrics = new AggregatorMetrics(new SimpleMeterRegistry());
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> input;
    private TestOutputTopic<RollupKey, Rollup> rollups;
    private TestOutputTopic<byte[], byte[]> dlq;
    /** Latest rollup per key, as a compacted topic's consumer sees it. */
    private final Map<RollupKey, Rollup> latest = new LinkedHashMap<>();

    private void start(Duration dedupeWindow) {
        AggregatorConfig config = new AggregatorConfig("unused:9092", "mem://unused", "aggregator-test", stateDir, dedupeWindow,
                Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 0, "127.0.0.1", 0, TopicSettings.DEFAULTS);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "aggregator-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AggregatorTopology.build(config, registry, metrics), props);
        input = driver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
        rollups = driver.createOutputTopic(Topics.USAGE_ROLLUPS, new AvroDeserializer<>(RollupKey.class, registry),
                new AvroDeserializer<>(Rollup.class, registry));
        dlq = driver.createOutputTopic(Topics.USAGE_EVENTS_DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private void start() {
        start(Duration.ofDays(35));
    }

    @AfterEach
    void closeDriver() {
        if (driver != null) {
            driver.close();
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private static UsageEvent.Builder event(String id, String quantity, Instant eventTime) {
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setBillingAccountId(ACCOUNT)
                .setFeatureCode("api-calls")
                .setQuantity(new BigDecimal(quantity).setScale(12))
                .setValueType(ValueType.DELTA)
                .setEventTime(eventTime)
                .setReceivedAt(eventTime);
    }

    private byte[] bytes(UsageEvent event) {
        return eventSerializer.serialize(Topics.USAGE_EVENTS, event);
    }

    /** Sends the event keyed by its account, arriving (LogAppendTime) at the given instant. */
    private void send(UsageEvent event, Instant arrival) {
        sendRaw(event.getBillingAccountId().getBytes(StandardCharsets.UTF_8), bytes(event), arrival);
    }

    private void send(UsageEvent.Builder event) {
        UsageEvent built = event.build();
        send(built, built.getEventTime());
    }

    private void sendRaw(byte[] key, byte[] value, Instant arrival) {
        input.pipeInput(new TestRecord<>(key, value, new RecordHeaders(), arrival));
    }

    private Map<RollupKey, Rollup> drainRollups() {
        for (var record : rollups.readRecordsToList()) {
            latest.put(record.key(), record.value());
        }
        return latest;
    }

    private Rollup rollup(WindowSize size, String windowStart) {
        return rollup(ACCOUNT, "api-calls", size, windowStart);
    }

    private Rollup rollup(String account, String feature, WindowSize size, String windowStart) {
        return drainRollups().get(new RollupKey(account, feature, size, Instant.parse(windowStart)));
    }

    private List<TestRecord<byte[], byte[]>> deadLetters() {
        return dlq.readRecordsToList();
    }

    private static String reason(TestRecord<byte[], byte[]> record) {
        return DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER);
    }

    private static BigDecimal decimal(String text) {
        return new BigDecimal(text).setScale(12);
    }

    // ---- aggregation ---------------------------------------------------------------------------------

    @Test
    void sumsDeltasIntoHourAndDayWindows() {
        start();
        send(event("e1", "2", T0.plusSeconds(60)));
        send(event("e2", "3.5", T0.plusSeconds(1800)));
        send(event("e3", "10", T0.plusSeconds(3600 + 5))); // next hour, same day

        Rollup hour = rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z");
        assertThat(hour.getEventCount()).isEqualTo(2);
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("5.5"));
        assertThat(hour.getWindowEnd()).isEqualTo(Instant.parse("2026-03-10T11:00:00Z"));
        assertThat(hour.getFirstEventTime()).isEqualTo(T0.plusSeconds(60));
        assertThat(hour.getLastEventTime()).isEqualTo(T0.plusSeconds(1800));
        assertThat(hour.getMinValue()).isEqualTo(decimal("2"));
        assertThat(hour.getMaxValue()).isEqualTo(decimal("3.5"));

        Rollup nextHour = rollup(WindowSize.HOUR, "2026-03-10T11:00:00Z");
        assertThat(nextHour.getEventCount()).isEqualTo(1);
        assertThat(nextHour.getQuantitySum()).isEqualTo(decimal("10"));

        Rollup day = rollup(WindowSize.DAY, "2026-03-10T00:00:00Z");
        assertThat(day.getEventCount()).isEqualTo(3);
        assertThat(day.getQuantitySum()).isEqualTo(decimal("15.5"));
        assertThat(day.getWindowEnd()).isEqualTo(Instant.parse("2026-03-11T00:00:00Z"));
        assertThat(day.getLatestEventId()).isEqualTo("e3");
        assertThat(day.getLatestValue()).isEqualTo(decimal("10"));
        assertThat(metrics.acceptedCount()).isEqualTo(3);
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void decimalsAreExactWhereDoublesAreNot() {
        start();
        assertThat(0.1 + 0.2).isNotEqualTo(0.3); // the reason quantities are never doubles
        send(event("e1", "0.1", T0));
        send(event("e2", "0.2", T0.plusSeconds(1)));
        send(event("e3", "0.000000000001", T0.plusSeconds(2)));
        send(event("e4", "12345678901234567890.123456789012", T0.plusSeconds(3)));

        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getQuantitySum())
                .isEqualTo(new BigDecimal("12345678901234567890.423456789013"));
    }

    @Test
    void latestValueIsByEventTimeNotArrivalOrder() {
        start();
        Instant arrival = T0.plusSeconds(3000);
        send(event("late-but-newest", "5", T0.plusSeconds(1800)).setValueType(ValueType.ABSOLUTE).build(), arrival);
        send(event("arrives-last-but-older", "9", T0.plusSeconds(600)).setValueType(ValueType.ABSOLUTE).build(), arrival.plusSeconds(1));

        Rollup hour = rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z");
        assertThat(hour.getLatestValue()).isEqualTo(decimal("5"));
        assertThat(hour.getLatestEventId()).isEqualTo("late-but-newest");
        assertThat(hour.getLatestValueType()).isEqualTo(ValueType.ABSOLUTE);
        assertThat(hour.getLatestEventTime()).isEqualTo(T0.plusSeconds(1800));
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("0")); // ABSOLUTE events are not summed
        assertThat(hour.getMinValue()).isEqualTo(decimal("5"));
        assertThat(hour.getMaxValue()).isEqualTo(decimal("9"));
        assertThat(hour.getFirstEventTime()).isEqualTo(T0.plusSeconds(600));
        assertThat(hour.getLastEventTime()).isEqualTo(T0.plusSeconds(1800));
        assertThat(hour.getEventCount()).isEqualTo(2);
    }

    @Test
    void equalEventTimesAreBrokenByTheGreaterEventIdWhateverTheArrivalOrder() {
        start();
        Instant time = T0.plusSeconds(42);
        send(event("b", "1", time).setValueType(ValueType.ABSOLUTE).build(), time);
        send(event("a", "2", time).setValueType(ValueType.ABSOLUTE).build(), time);
        send(event("a", "2", time).setValueType(ValueType.ABSOLUTE).setBillingAccountId("acct-2").build(), time);
        send(event("b", "1", time).setValueType(ValueType.ABSOLUTE).setBillingAccountId("acct-2").build(), time);

        for (String account : List.of(ACCOUNT, "acct-2")) {
            Rollup hour = rollup(account, "api-calls", WindowSize.HOUR, "2026-03-10T10:00:00Z");
            assertThat(hour.getLatestEventId()).as(account).isEqualTo("b");
            assertThat(hour.getLatestValue()).as(account).isEqualTo(decimal("1"));
        }
    }

    @Test
    void windowsStartExactlyAtMidnightUtc() {
        start();
        Instant lastMillisecondOfDay = Instant.parse("2026-03-10T23:59:59.999Z");
        Instant midnight = Instant.parse("2026-03-11T00:00:00Z");
        send(event("before", "1", lastMillisecondOfDay).build(), midnight);
        send(event("at", "2", midnight).build(), midnight);

        assertThat(rollup(WindowSize.DAY, "2026-03-10T00:00:00Z").getQuantitySum()).isEqualTo(decimal("1"));
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T23:00:00Z").getQuantitySum()).isEqualTo(decimal("1"));
        Rollup newDay = rollup(WindowSize.DAY, "2026-03-11T00:00:00Z");
        assertThat(newDay.getQuantitySum()).isEqualTo(decimal("2"));
        assertThat(newDay.getFirstEventTime()).isEqualTo(midnight);
        assertThat(rollup(WindowSize.HOUR, "2026-03-11T00:00:00Z").getQuantitySum()).isEqualTo(decimal("2"));
        assertThat(drainRollups()).hasSize(4);
    }

    @Test
    void featuresAndAccountsAreSeparateRollups() {
        start();
        send(event("e1", "1", T0));
        send(event("e1", "2", T0).setFeatureCode("storage-gb")); // same id, other feature: a conflict (same account)
        send(event("e1", "4", T0).setBillingAccountId("acct-2")); // same id, other account: a different event

        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("1"));
        assertThat(rollup("acct-2", "api-calls", WindowSize.HOUR, "2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("4"));
        assertThat(rollup(ACCOUNT, "storage-gb", WindowSize.HOUR, "2026-03-10T10:00:00Z")).isNull();
        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("CONFLICT");
    }

    // ---- dedupe ----------------------------------------------------------------------------------------

    @Test
    void exactDuplicatesAreDroppedAndCountedEvenWithAnotherReceivedAt() {
        start();
        UsageEvent original = event("e1", "7", T0).build();
        send(original, T0);
        send(UsageEvent.newBuilder(original).setReceivedAt(T0.plusSeconds(30)).build(), T0.plusSeconds(31));
        send(original, T0.plusSeconds(40));

        assertThat(rollups.readRecordsToList()).hasSize(2); // one hour and one day update, for the first delivery only
        assertThat(latest).isEmpty();
        assertThat(metrics.duplicateCount()).isEqualTo(2);
        assertThat(metrics.acceptedCount()).isEqualTo(1);
        assertThat(deadLetters()).isEmpty();
    }

    @Test
    void sameIdWithDifferentPayloadIsAConflictInTheDlqWithItsOriginalBytes() {
        start();
        send(event("e1", "7", T0));
        UsageEvent changed = event("e1", "8", T0).build();
        byte[] changedBytes = bytes(changed);
        sendRaw(ACCOUNT.getBytes(StandardCharsets.UTF_8), changedBytes, T0.plusSeconds(5));

        List<TestRecord<byte[], byte[]>> dead = deadLetters();
        assertThat(dead).hasSize(1);
        assertThat(reason(dead.get(0))).isEqualTo("CONFLICT");
        assertThat(dead.get(0).value()).isEqualTo(changedBytes);
        assertThat(dead.get(0).key()).isEqualTo(ACCOUNT.getBytes(StandardCharsets.UTF_8));
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.SOURCE_HEADER)).isEqualTo("usage-events-0@1");
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("7"));
        assertThat(metrics.deadLetteredCount(Reason.CONFLICT)).isEqualTo(1);
    }

    @Test
    void anEventIdIsForgottenAfterTheDedupeWindow() {
        start(Duration.ofHours(1));
        UsageEvent event = event("e1", "1", T0.plusSeconds(10)).build();
        send(event, T0.plusSeconds(10));
        send(event, T0.plusSeconds(10 + 3599)); // within the dedupe window: dropped
        send(event, T0.plusSeconds(10 + 3600 + 1)); // after it: counted again

        assertThat(metrics.duplicateCount()).isEqualTo(1);
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getEventCount()).isEqualTo(2);
    }

    // ---- time --------------------------------------------------------------------------------------

    @Test
    void eventsArriveLateOnlyAfterTheirHourWindowPlusGrace() {
        start();
        Instant windowEnd = T0.plusSeconds(3600);
        Instant closedAt = windowEnd.plus(Duration.ofHours(48));
        send(event("in-time", "1", T0.plusSeconds(5)).build(), closedAt.minusMillis(1));
        send(event("too-late", "2", T0.plusSeconds(6)).build(), closedAt);

        List<TestRecord<byte[], byte[]>> dead = deadLetters();
        assertThat(dead).extracting(AggregatorTopologyTest::reason).containsExactly("LATE");
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.DETAIL_HEADER)).contains("2026-03-10T10:00:00Z");
        Rollup hour = rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z");
        assertThat(hour.getEventCount()).isEqualTo(1);
        assertThat(rollup(WindowSize.DAY, "2026-03-10T00:00:00Z").getEventCount()).isEqualTo(1);
        assertThat(metrics.deadLetteredCount(Reason.LATE)).isEqualTo(1);
    }

    @Test
    void lateIsJudgedByTheStreamTimeOfThePartitionSoARecordWithAnOldArrivalTimeIsLateToo() {
        start();
        send(event("newer", "1", T0.plus(Duration.ofHours(60))).build(), T0.plus(Duration.ofHours(60)));
        // Arrival timestamp older than the stream time (e.g. a broker clock step back): stream time still counts.
        send(event("old", "1", T0).build(), T0.plusSeconds(10));

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("LATE");
    }

    @Test
    void aLateEventLeavesNoTraceInTheDedupeState() {
        start();
        Instant now = T0.plus(Duration.ofDays(3));
        send(event("e1", "1", T0).build(), now); // LATE
        send(event("e1", "1", now.minusSeconds(60)).build(), now); // same id, corrected time: accepted, not a conflict

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("LATE");
        assertThat(rollup(WindowSize.HOUR, "2026-03-13T09:00:00Z").getEventCount()).isEqualTo(1);
        assertThat(metrics.duplicateCount()).isZero();
    }

    @Test
    void eventsMoreThanFiveMinutesAheadOfTheirArrivalAreFuture() {
        start();
        send(event("edge", "1", T0.plus(Duration.ofMinutes(5))).build(), T0);
        send(event("future", "1", T0.plus(Duration.ofMinutes(5)).plusMillis(1)).build(), T0);

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("FUTURE");
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getLatestEventId()).isEqualTo("edge");
        assertThat(metrics.deadLetteredCount(Reason.FUTURE)).isEqualTo(1);
    }

    // ---- validation --------------------------------------------------------------------------------

    @Test
    void undecodableBytesGoToTheDlqAndTheNextRecordIsProcessed() {
        start();
        byte[] key = ACCOUNT.getBytes(StandardCharsets.UTF_8);
        byte[] notAvro = "{\"event_id\":\"json\"}".getBytes(StandardCharsets.UTF_8);
        byte[] unknownSchema = {0, 0x7f, 0x7f, 0x7f, 0x7f, 1, 2, 3};
        byte[] truncated = java.util.Arrays.copyOf(bytes(event("t", "1", T0).build()), 12);
        sendRaw(key, notAvro, T0);
        sendRaw(key, unknownSchema, T0);
        sendRaw(key, truncated, T0);
        sendRaw(key, null, T0);
        send(event("good", "1", T0));

        List<TestRecord<byte[], byte[]>> dead = deadLetters();
        assertThat(dead).extracting(AggregatorTopologyTest::reason).containsExactly("UNDECODABLE", "UNDECODABLE", "UNDECODABLE", "MISSING_FIELD");
        assertThat(dead.get(0).value()).isEqualTo(notAvro);
        assertThat(dead.get(0).key()).isEqualTo(key);
        assertThat(dead.get(1).value()).isEqualTo(unknownSchema);
        assertThat(dead.get(2).value()).isEqualTo(truncated);
        assertThat(DeadLetter.header(dead.get(0).headers(), DeadLetter.DETAIL_HEADER)).contains("magic byte");
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getLatestEventId()).isEqualTo("good");
        assertThat(metrics.deadLetteredCount(Reason.UNDECODABLE)).isEqualTo(3);
    }

    @Test
    void invalidFieldsAndKeysAreDeadLetteredWithTheirReason() {
        start();
        send(event("", "1", T0));
        send(event("e2", "1", T0).setFeatureCode(" "));
        send(event("e3", "1", T0).setBillingAccountId(""));
        send(event("e4", "-1", T0));
        sendRaw("someone-else".getBytes(StandardCharsets.UTF_8), bytes(event("e5", "1", T0).build()), T0);
        sendRaw(null, bytes(event("e6", "1", T0).build()), T0);
        send(event("e7", "-2.5", T0).setValueType(ValueType.ABSOLUTE)); // negative is fine for an absolute value

        List<TestRecord<byte[], byte[]>> dead = deadLetters();
        assertThat(dead).extracting(AggregatorTopologyTest::reason)
                .containsExactly("MISSING_FIELD", "MISSING_FIELD", "MISSING_FIELD", "INVALID_VALUE", "INVALID_VALUE", "INVALID_VALUE");
        assertThat(dead).extracting(record -> DeadLetter.header(record.headers(), DeadLetter.DETAIL_HEADER))
                .satisfiesExactly(
                        detail -> assertThat(detail).contains("event_id"),
                        detail -> assertThat(detail).contains("feature_code"),
                        detail -> assertThat(detail).contains("billing_account_id"),
                        detail -> assertThat(detail).contains("negative"),
                        detail -> assertThat(detail).contains("someone-else"),
                        detail -> assertThat(detail).contains("key is missing"));
        assertThat(rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z").getLatestValue()).isEqualTo(decimal("-2.5"));
        assertThat(metrics.deadLetteredCount(Reason.MISSING_FIELD)).isEqualTo(3);
        assertThat(metrics.deadLetteredCount(Reason.INVALID_VALUE)).isEqualTo(3);
    }

    @Test
    void aSumBeyondTheDecimalPrecisionIsRejectedAndLeavesTheRollupUnchanged() {
        start();
        String max = "99999999999999999999999999"; // 26 integer digits, the most decimal(38, 12) holds
        send(event("e1", max, T0));
        send(event("e2", "1", T0.plusSeconds(1)));
        send(event("e2", "1", T0.plusSeconds(1))); // not remembered by dedupe, rejected again as the same overflow

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("INVALID_VALUE", "INVALID_VALUE");
        Rollup hour = rollup(WindowSize.HOUR, "2026-03-10T10:00:00Z");
        assertThat(hour.getQuantitySum()).isEqualTo(decimal(max));
        assertThat(hour.getEventCount()).isEqualTo(1);
        assertThat(rollup(WindowSize.DAY, "2026-03-10T00:00:00Z").getEventCount()).isEqualTo(1);
    }

    @Test
    void originalHeadersAreKeptOnDeadLetters() {
        start();
        RecordHeaders headers = new RecordHeaders();
        headers.add("traceparent", "00-abc".getBytes(StandardCharsets.UTF_8));
        input.pipeInput(new TestRecord<>(ACCOUNT.getBytes(StandardCharsets.UTF_8), new byte[] {1, 2}, headers, T0));

        TestRecord<byte[], byte[]> dead = deadLetters().get(0);
        assertThat(new String(dead.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8)).isEqualTo("00-abc");
        assertThat(reason(dead)).isEqualTo("UNDECODABLE");
    }
}
