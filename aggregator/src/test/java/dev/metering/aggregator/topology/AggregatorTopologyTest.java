package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.rules.Tenants;
import dev.metering.avro.IdSpace;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
    private final PrometheusMeterRegistry meterRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AggregatorMetrics metrics = new AggregatorMetrics(meterRegistry);
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> input;
    private TestOutputTopic<RollupKey, Rollup> rollups;
    private TestOutputTopic<byte[], byte[]> dlq;
    /** Latest rollup per key, as a compacted topic's consumer sees it. */
    private final Map<RollupKey, Rollup> latest = new LinkedHashMap<>();

    private void start(Duration dedupeWindow) {
        driver = TopologyDrivers.start(stateDir, registry, metrics, dedupeWindow, Duration.ofHours(48), Duration.ofMinutes(5));
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

    /** What usage-rollups received: changed hours are sent by a wall-clock punctuator, so let its interval pass first. */
    private List<TestRecord<RollupKey, Rollup>> readRollupRecords() {
        driver.advanceWallClockTime(Duration.ofMillis(100));
        return rollups.readRecordsToList();
    }

    private Map<RollupKey, Rollup> drainRollups() {
        for (var record : readRollupRecords()) {
            latest.put(record.key(), record.value());
        }
        return latest;
    }

    private Rollup rollup(String hourStart) {
        return rollup(Tenants.DEFAULT, ACCOUNT, "api-calls", hourStart);
    }

    private Rollup rollup(String account, String feature, String hourStart) {
        return rollup(Tenants.DEFAULT, account, feature, hourStart);
    }

    private Rollup rollup(String tenant, String account, String feature, String hourStart) {
        return drainRollups().get(new RollupKey(tenant, account, feature, WindowSize.HOUR, Instant.parse(hourStart)));
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
    void sumsDeltasIntoHourWindowsOnly() {
        start();
        send(event("e1", "2", T0.plusSeconds(60)));
        send(event("e2", "3.5", T0.plusSeconds(1800)));
        send(event("e3", "10", T0.plusSeconds(3600 + 5))); // next hour, same day

        Rollup hour = rollup("2026-03-10T10:00:00Z");
        assertThat(hour.getEventCount()).isEqualTo(2);
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("5.5"));
        assertThat(hour.getWindowEnd()).isEqualTo(Instant.parse("2026-03-10T11:00:00Z"));
        assertThat(hour.getFirstEventTime()).isEqualTo(T0.plusSeconds(60));
        assertThat(hour.getLastEventTime()).isEqualTo(T0.plusSeconds(1800));
        assertThat(hour.getMinValue()).isEqualTo(decimal("2"));
        assertThat(hour.getMaxValue()).isEqualTo(decimal("3.5"));

        Rollup nextHour = rollup("2026-03-10T11:00:00Z");
        assertThat(nextHour.getEventCount()).isEqualTo(1);
        assertThat(nextHour.getQuantitySum()).isEqualTo(decimal("10"));

        assertThat(drainRollups().keySet()).extracting(RollupKey::getWindowSize).containsOnly(WindowSize.HOUR);
        assertThat(hour.getOrgId()).isEqualTo(Tenants.DEFAULT);
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("5.5"));
        assertThat(hour.getLatestAbsoluteEventTime()).isNull();
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

        assertThat(rollup("2026-03-10T10:00:00Z").getQuantitySum())
                .isEqualTo(new BigDecimal("12345678901234567890.423456789013"));
    }

    @Test
    void latestValueIsByEventTimeNotArrivalOrder() {
        start();
        Instant arrival = T0.plusSeconds(3000);
        send(event("late-but-newest", "5", T0.plusSeconds(1800)).setValueType(ValueType.ABSOLUTE).build(), arrival);
        send(event("arrives-last-but-older", "9", T0.plusSeconds(600)).setValueType(ValueType.ABSOLUTE).build(), arrival.plusSeconds(1));

        Rollup hour = rollup("2026-03-10T10:00:00Z");
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
            Rollup hour = rollup(account, "api-calls", "2026-03-10T10:00:00Z");
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

        assertThat(rollup("2026-03-10T23:00:00Z").getQuantitySum()).isEqualTo(decimal("1"));
        Rollup firstHourOfDay = rollup("2026-03-11T00:00:00Z");
        assertThat(firstHourOfDay.getQuantitySum()).isEqualTo(decimal("2"));
        assertThat(firstHourOfDay.getFirstEventTime()).isEqualTo(midnight);
        assertThat(drainRollups()).hasSize(2);
    }

    @Test
    void featuresAndAccountsAreSeparateRollups() {
        start();
        send(event("e1", "1", T0));
        send(event("e1", "2", T0).setFeatureCode("storage-gb")); // same id, other feature: a conflict (same account)
        send(event("e1", "4", T0).setBillingAccountId("acct-2")); // same id, other account: a different event

        assertThat(rollup("2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("1"));
        assertThat(rollup("acct-2", "api-calls", "2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("4"));
        assertThat(rollup(ACCOUNT, "storage-gb", "2026-03-10T10:00:00Z")).isNull();
        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("CONFLICT");
    }

    // ---- dedupe ----------------------------------------------------------------------------------------

    @Test
    void exactDuplicatesAreDroppedAndCountedEvenWithAnotherReceivedAt() {
        start();
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("region", "eu");
        metadata.put("tier", "gold");
        Map<String, String> sameMetadataOtherOrder = new LinkedHashMap<>();
        sameMetadataOtherOrder.put("tier", "gold");
        sameMetadataOtherOrder.put("region", "eu");
        UsageEvent original = event("e1", "7", T0).setMetadata(metadata).setOrigin("kinde").build();
        send(original, T0);
        send(UsageEvent.newBuilder(original).setReceivedAt(T0.plusSeconds(30)).setMetadata(sameMetadataOtherOrder).build(), T0.plusSeconds(31));
        send(original, T0.plusSeconds(40));

        assertThat(readRollupRecords()).hasSize(1); // one hour update, for the first delivery only
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
        assertThat(rollup("2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("7"));
        assertThat(metrics.deadLetteredCount(Reason.CONFLICT)).isEqualTo(1);
    }

    @Test
    void anyFieldButReceivedAtMakesADifferentPayload() {
        start();
        UsageEvent original = event("e1", "7", T0).setMetadata(Map.of("region", "eu")).build();
        send(original, T0);
        send(UsageEvent.newBuilder(original).setMetadata(Map.of("region", "us")).build(), T0);
        send(UsageEvent.newBuilder(original).setEventTime(T0.plusMillis(1)).build(), T0);
        send(UsageEvent.newBuilder(original).setValueType(ValueType.ABSOLUTE).build(), T0);
        send(UsageEvent.newBuilder(original).setDescription("retry").build(), T0);

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("CONFLICT", "CONFLICT", "CONFLICT", "CONFLICT");
        assertThat(metrics.duplicateCount()).isZero();
    }

    @Test
    void aRetryWhoseEventTimeTheApiDefaultedIsADuplicateNotAConflict() {
        start();
        // A client sent no event time; the API stamped each attempt with its own receipt time.
        UsageEvent first = event("e1", "7", T0).setEventTimeDefaulted(true).build();
        send(first, T0);
        send(UsageEvent.newBuilder(first).setEventTime(T0.plusSeconds(20)).setReceivedAt(T0.plusSeconds(20)).build(), T0.plusSeconds(21));
        // The same id with a time the client chose is another payload.
        send(UsageEvent.newBuilder(first).setEventTimeDefaulted(false).build(), T0.plusSeconds(30));

        assertThat(metrics.duplicateCount()).isEqualTo(1);
        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("CONFLICT");
        assertThat(rollup("2026-03-10T10:00:00Z").getEventCount()).isEqualTo(1);
    }

    @Test
    void anEventIdIsForgottenAfterTheDedupeWindow() {
        start(Duration.ofHours(1));
        UsageEvent event = event("e1", "1", T0.plusSeconds(10)).build();
        send(event, T0.plusSeconds(10));
        send(event, T0.plusSeconds(10 + 3599)); // within the dedupe window: dropped
        send(event, T0.plusSeconds(10 + 3600 + 1)); // after it: counted again

        assertThat(metrics.duplicateCount()).isEqualTo(1);
        assertThat(rollup("2026-03-10T10:00:00Z").getEventCount()).isEqualTo(2);
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
        Rollup hour = rollup("2026-03-10T10:00:00Z");
        assertThat(hour.getEventCount()).isEqualTo(1);
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
        assertThat(rollup("2026-03-13T09:00:00Z").getEventCount()).isEqualTo(1);
        assertThat(metrics.duplicateCount()).isZero();
    }

    @Test
    void eventsMoreThanFiveMinutesAheadOfTheirArrivalAreFuture() {
        start();
        send(event("edge", "1", T0.plus(Duration.ofMinutes(5))).build(), T0);
        send(event("future", "1", T0.plus(Duration.ofMinutes(5)).plusMillis(1)).build(), T0);

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("FUTURE");
        assertThat(rollup("2026-03-10T10:00:00Z").getLatestEventId()).isEqualTo("edge");
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
        assertThat(rollup("2026-03-10T10:00:00Z").getLatestEventId()).isEqualTo("good");
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
        send(event("e7", "-2.5", T0).setValueType(ValueType.ABSOLUTE)); // never negative, ABSOLUTE included (EventRules)
        send(event("e8", "1", T0).setFeatureCode("a\u0000b"));
        send(event("e9", "1", T0).setEventId("x".repeat(101)));
        send(event("e10", "2.5", T0).setValueType(ValueType.ABSOLUTE));

        List<TestRecord<byte[], byte[]>> dead = deadLetters();
        assertThat(dead).extracting(AggregatorTopologyTest::reason)
                .containsExactly("MISSING_FIELD", "MISSING_FIELD", "MISSING_FIELD", "INVALID_VALUE", "INVALID_VALUE", "INVALID_VALUE",
                        "INVALID_VALUE", "INVALID_VALUE", "INVALID_VALUE");
        assertThat(dead).extracting(record -> DeadLetter.header(record.headers(), DeadLetter.DETAIL_HEADER))
                .satisfiesExactly(
                        detail -> assertThat(detail).contains("event_id"),
                        detail -> assertThat(detail).contains("feature_code"),
                        detail -> assertThat(detail).contains("billing_account_id"),
                        detail -> assertThat(detail).contains("negative"),
                        detail -> assertThat(detail).contains("someone-else"),
                        detail -> assertThat(detail).contains("key is missing"),
                        detail -> assertThat(detail).contains("quantity").contains("negative"),
                        detail -> assertThat(detail).contains("feature_code").contains("NUL"),
                        detail -> assertThat(detail).contains("event_id").contains("100"));
        assertThat(rollup("2026-03-10T10:00:00Z").getLatestValue()).isEqualTo(decimal("2.5"));
        assertThat(metrics.deadLetteredCount(Reason.MISSING_FIELD)).isEqualTo(3);
        assertThat(metrics.deadLetteredCount(Reason.INVALID_VALUE)).isEqualTo(6);
    }

    @Test
    void sumsOfTheLargestQuantitiesFitTheRollupsPrecision50() {
        start();
        String max = "99999999999999999999999999.999999999999"; // the largest quantity decimal(38, 12) holds
        for (int i = 0; i < 1000; i++) {
            send(event("e" + i, max, T0.plusSeconds(i)));
        }

        assertThat(deadLetters()).isEmpty();
        Rollup hour = rollup("2026-03-10T10:00:00Z");
        BigDecimal expected = new BigDecimal(max).multiply(BigDecimal.valueOf(1000)).setScale(12);
        assertThat(hour.getQuantitySum()).isEqualTo(expected);
        assertThat(hour.getBillableQuantity()).isEqualTo(expected);
        assertThat(hour.getEventCount()).isEqualTo(1000);
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

    // ---- contract: tenants, id spaces, billable quantity, metrics -----------------------------------

    @Test
    void aReceivedAtCenturiesAwayIsCountedWithoutALagAndTheNextEventFlows() {
        start();
        // Direct producers set received_at. A lag of 300 years overflowed the lag timer's nanoseconds after the event
        // was stored: the transaction failed, and its retry failed again, so the partition stopped (HostileEventsPropertyTest).
        send(event("e1", "1", T0).setReceivedAt(T0.minus(Duration.ofDays(300L * 366))));
        send(event("e2", "2", T0.plusSeconds(1)));

        assertThat(metrics.acceptedCount()).isEqualTo(2);
        assertThat(rollup("2026-03-10T10:00:00Z").getEventCount()).isEqualTo(2);
        assertThat(meterRegistry.scrape()).contains("metering_aggregator_end_to_end_lag_unmeasured_total 1.0");
    }

    @Test
    void theDuplicatesCounterCountsEveryDroppedDuplicateOnTheMetricsEndpoint() {
        start();
        UsageEvent original = event("e1", "1", T0).build();
        for (int i = 0; i < 5; i++) {
            send(UsageEvent.newBuilder(original).setReceivedAt(T0.plusSeconds(i)).build(), T0.plusSeconds(i));
        }

        assertThat(metrics.duplicateCount()).isEqualTo(4);
        assertThat(meterRegistry.scrape())
                .contains("metering_aggregator_duplicates_dropped_total 4.0")
                .contains("metering_aggregator_events_accepted_total 1.0");
        assertThat(rollup("2026-03-10T10:00:00Z").getEventCount()).isEqualTo(1);
    }

    @Test
    void theSameIdInAnotherTenantOrIdSpaceIsAnotherEvent() {
        start();
        send(event("e1", "1", T0));
        send(event("e1", "2", T0).setOrgId("org-b"));
        send(event("e1", "4", T0).setIdSpace(IdSpace.KINDE));
        send(event("e1", "8", T0).setOrgId("org-b").setIdSpace(IdSpace.FRONTIER));
        send(event("e1", "16", T0).setOrgId(Tenants.DEFAULT)); // org "default" is the default tenant: a conflict
        send(event("e1", "2", T0).setOrgId("org-b")); // an exact duplicate in org-b

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("CONFLICT");
        assertThat(metrics.duplicateCount()).isEqualTo(1);
        assertThat(rollup(Tenants.DEFAULT, ACCOUNT, "api-calls", "2026-03-10T10:00:00Z").getQuantitySum()).isEqualTo(decimal("5"));
        Rollup orgB = rollup("org-b", ACCOUNT, "api-calls", "2026-03-10T10:00:00Z");
        assertThat(orgB.getQuantitySum()).isEqualTo(decimal("10"));
        assertThat(orgB.getOrgId()).isEqualTo("org-b");
    }

    @Test
    void anAbsoluteSetsTheHoursBillableAndLaterDeltasAddToIt() {
        start();
        send(event("abs", "10", T0.plusSeconds(60)).setValueType(ValueType.ABSOLUTE));
        send(event("d1", "2", T0.plusSeconds(30))); // earlier event time, accepted later: still adds

        Rollup hour = rollup("2026-03-10T10:00:00Z");
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("12"));
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("2"));
        assertThat(hour.getLatestAbsoluteEventId()).isEqualTo("abs");
        assertThat(hour.getLatestAbsoluteEventTime()).isEqualTo(T0.plusSeconds(60));
    }

    @Test
    void anAbsoluteOlderThanTheAppliedOneChangesNothingAndTiesGoToTheGreaterId() {
        start();
        Instant time = T0.plusSeconds(600);
        send(event("b", "10", time).setValueType(ValueType.ABSOLUTE));
        send(event("d", "1", T0.plusSeconds(700)));
        send(event("older", "100", time.minusSeconds(1)).setValueType(ValueType.ABSOLUTE)); // changes neither
        send(event("a", "50", time).setValueType(ValueType.ABSOLUTE)); // same time, smaller id: changes nothing
        assertThat(rollup("2026-03-10T10:00:00Z").getBillableQuantity()).isEqualTo(decimal("11"));

        send(event("c", "7", time).setValueType(ValueType.ABSOLUTE)); // same time, greater id: resets
        Rollup hour = rollup("2026-03-10T10:00:00Z");
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("7"));
        assertThat(hour.getLatestAbsoluteEventId()).isEqualTo("c");
        assertThat(hour.getEventCount()).isEqualTo(5);
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("1"));
    }

    @Test
    void identifiersAreNormalisedButTheKeyMustBeTheAccountAsSent() {
        start();
        String decomposed = "cafe\u0301";
        String composed = "caf\u00e9";
        UsageEvent event = event("e1", "1", T0).setBillingAccountId(decomposed).setFeatureCode(decomposed).build();
        sendRaw(decomposed.getBytes(StandardCharsets.UTF_8), bytes(event), T0);
        UsageEvent other = event("e2", "1", T0).setBillingAccountId(decomposed).build();
        sendRaw(composed.getBytes(StandardCharsets.UTF_8), bytes(other), T0);

        assertThat(deadLetters()).extracting(AggregatorTopologyTest::reason).containsExactly("INVALID_VALUE");
        Rollup hour = rollup(composed, composed, "2026-03-10T10:00:00Z");
        assertThat(hour.getEventCount()).isEqualTo(1);
        assertThat(hour.getBillingAccountId()).isEqualTo(composed);
    }

    // ---- throughput: coalesced emits, point-lookup dedupe ---------------------------------------------

    @Test
    void aChangedHourIsSentOncePerEmitIntervalWithItsCompleteState() {
        start();
        for (int i = 0; i < 50; i++) {
            send(event("e" + i, "1", T0.plusSeconds(i)));
        }
        assertThat(rollups.readRecordsToList()).as("nothing is sent before the emit interval passes").isEmpty();

        List<TestRecord<RollupKey, Rollup>> sent = readRollupRecords();
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).value().getEventCount()).isEqualTo(50);
        assertThat(sent.get(0).value().getQuantitySum()).isEqualTo(decimal("50"));
        assertThat(readRollupRecords()).as("an unchanged hour is not sent again").isEmpty();
        assertThat(metrics.emittedCount()).isEqualTo(1);

        send(event("e50", "1", T0.plusSeconds(50)));
        assertThat(readRollupRecords()).singleElement().satisfies(record -> assertThat(record.value().getEventCount()).isEqualTo(51));
    }

    @Test
    void idsAreRememberedForTheWholeWindowAcrossBucketsAndPurgedAfterwards() {
        start(Duration.ofHours(1));
        Instant acceptedAt = T0.plus(Duration.ofMinutes(59)); // just before a bucket boundary (buckets are one window wide)
        UsageEvent event = event("e1", "1", acceptedAt).build();
        send(event, acceptedAt);
        send(event, acceptedAt.plus(Duration.ofHours(1))); // exactly one window later, in the next bucket: still a duplicate
        assertThat(metrics.duplicateCount()).isEqualTo(1);

        // Stream time moves two windows on; the purge (a punctuation) deletes the expired id, changing no decision.
        send(event("e2", "1", acceptedAt.plus(Duration.ofHours(3))).build(), acceptedAt.plus(Duration.ofHours(3)));
        driver.advanceWallClockTime(Duration.ofSeconds(2));
        send(event, acceptedAt.plus(Duration.ofHours(3)));
        assertThat(metrics.duplicateCount()).isEqualTo(1);
        assertThat(rollup("2026-03-10T10:00:00Z").getEventCount()).isEqualTo(2);
        assertThat(deadLetters()).isEmpty();
    }
}
