package dev.metering.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.avro.IdSpace;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import dev.metering.schemas.Verdict;
import dev.metering.schemas.Verdict.Outcome;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reverts (issue 14): every verdict, what they do to the hour's rollup, and that a retry gets the same verdict. */
class AggregatorRevertTest {
    private static final Instant T0 = Instant.parse("2026-03-10T10:00:00Z");
    private static final String ACCOUNT = "acct-1";
    private static final String HOUR = "2026-03-10T10:00:00Z";

    @TempDir
    Path stateDir;

    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://aggregator-revert-test-" + UUID.randomUUID());
    private final AvroSerializer<UsageEvent> eventSerializer = new AvroSerializer<>(registry, false);
    private TopologyTestDriver driver;
    private TestInputTopic<byte[], byte[]> input;
    private TestOutputTopic<RollupKey, Rollup> rollups;
    private TestOutputTopic<byte[], byte[]> dlq;
    private TestOutputTopic<String, byte[]> verdicts;
    private final Map<RollupKey, Rollup> latest = new LinkedHashMap<>();

    @BeforeEach
    void start() throws Exception {
        driver = startDriver(Files.createDirectories(stateDir.resolve(UUID.randomUUID().toString())));
    }

    private TopologyTestDriver startDriver(Path dir) {
        TopologyTestDriver testDriver = TopologyDrivers.start(dir, registry, new AggregatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
        input = testDriver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
        rollups = testDriver.createOutputTopic(Topics.USAGE_ROLLUPS, new AvroDeserializer<>(RollupKey.class, registry),
                new AvroDeserializer<>(Rollup.class, registry));
        dlq = testDriver.createOutputTopic(Topics.USAGE_EVENTS_DLQ, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        verdicts = testDriver.createOutputTopic(Topics.USAGE_VERDICTS, new StringDeserializer(), new ByteArrayDeserializer());
        return testDriver;
    }

    @AfterEach
    void close() {
        driver.close();
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private static UsageEvent.Builder usage(String id, String quantity, Instant eventTime) {
        return UsageEvent.newBuilder().setEventId(id).setBillingAccountId(ACCOUNT).setFeatureCode("api-calls")
                .setQuantity(new BigDecimal(quantity)).setValueType(ValueType.DELTA).setEventTime(eventTime).setReceivedAt(eventTime);
    }

    private static UsageEvent.Builder revert(String id, String usageId, String amount, Instant at) {
        return UsageEvent.newBuilder().setEventId(id).setBillingAccountId(ACCOUNT).setFeatureCode("").setRevertsEventId(usageId)
                .setQuantity(new BigDecimal(amount)).setValueType(ValueType.DELTA).setEventTime(at).setReceivedAt(at);
    }

    private void send(UsageEvent.Builder event, Instant arrival, boolean askForVerdict) {
        UsageEvent built = event.build();
        RecordHeaders headers = new RecordHeaders();
        if (askForVerdict) {
            headers.add(Verdict.REQUESTED_HEADER, "1".getBytes(StandardCharsets.UTF_8));
        }
        input.pipeInput(new TestRecord<>(built.getBillingAccountId().getBytes(StandardCharsets.UTF_8),
                eventSerializer.serialize(Topics.USAGE_EVENTS, built), headers, arrival));
    }

    private void send(UsageEvent.Builder event) {
        send(event, event.getEventTime(), false);
    }

    /** Sends the revert and returns its one verdict. */
    private Verdict revertAndRead(UsageEvent.Builder revert) {
        send(revert);
        List<TestRecord<String, byte[]>> records = verdicts.readRecordsToList();
        assertThat(records).hasSize(1);
        Verdict verdict = Verdict.fromJson(records.get(0).value());
        UsageEvent sent = revert.build();
        assertThat(records.get(0).key()).isEqualTo(Verdict.key(Tenants.of(sent.getOrgId()), sent.getBillingAccountId(),
                sent.getIdSpace(), sent.getEventId()));
        assertThat(verdict.key()).isEqualTo(records.get(0).key());
        return verdict;
    }

    private Rollup hour() {
        driver.advanceWallClockTime(Duration.ofMillis(100));
        rollups.readRecordsToList().forEach(record -> latest.put(record.key(), record.value()));
        return latest.get(new RollupKey(Tenants.DEFAULT, ACCOUNT, "api-calls", WindowSize.HOUR, Instant.parse(HOUR)));
    }

    private List<String> deadLetterReasons() {
        return dlq.readRecordsToList().stream().map(record -> DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER)).toList();
    }

    private static BigDecimal decimal(String text) {
        return new BigDecimal(text).setScale(12);
    }

    private static void assertRejected(Verdict verdict, Reason reason) {
        assertThat(verdict.outcome()).isEqualTo(Outcome.REJECTED);
        assertThat(verdict.rejectionReason()).isEqualTo(reason);
    }

    // ---- verdicts ------------------------------------------------------------------------------------

    @Test
    void anAppliedRevertSubtractsFromItsUsagesHourNetOfSumAndBillable() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        send(usage("u-2", "5", T0.plusSeconds(120)));

        Verdict verdict = revertAndRead(revert("r-1", "u-1", "3", T0.plus(Duration.ofHours(5))));

        assertThat(verdict.outcome()).isEqualTo(Outcome.APPLIED);
        assertThat(verdict.repeated()).isFalse();
        assertThat(verdict.detail()).contains("7 of 10 remains");
        Rollup hour = hour();
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("12"));
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("12"));
        assertThat(hour.getRevertedQuantity()).isEqualTo(decimal("3"));
        assertThat(hour.getRevertCount()).isEqualTo(1);
        assertThat(hour.getEventCount()).as("usages, not reverts").isEqualTo(2);
        assertThat(hour.getMaxValue()).as("describes the usages as sent").isEqualTo(decimal("10"));
        assertThat(deadLetterReasons()).isEmpty();
    }

    @Test
    void partialRevertsAreAppliedUpToTheUsagesAmountAndNotBeyond() {
        send(usage("u-1", "10", T0.plusSeconds(60)));

        assertThat(revertAndRead(revert("r-1", "u-1", "2.5", T0.plusSeconds(600))).outcome()).isEqualTo(Outcome.APPLIED);
        assertThat(revertAndRead(revert("r-2", "u-1", "7", T0.plusSeconds(700))).outcome()).isEqualTo(Outcome.APPLIED);
        Verdict tooMuch = revertAndRead(revert("r-3", "u-1", "0.500000000001", T0.plusSeconds(800)));
        assertRejected(tooMuch, Reason.REVERT_EXCEEDS_USAGE);
        assertThat(tooMuch.detail()).contains("0.5 of 10");
        assertThat(revertAndRead(revert("r-4", "u-1", "0.5", T0.plusSeconds(900))).outcome()).isEqualTo(Outcome.APPLIED);
        assertRejected(revertAndRead(revert("r-5", "u-1", "0.000000000001", T0.plusSeconds(1000))), Reason.REVERT_EXCEEDS_USAGE);

        Rollup hour = hour();
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("0"));
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("0"));
        assertThat(hour.getRevertedQuantity()).isEqualTo(decimal("10"));
        assertThat(hour.getRevertCount()).isEqualTo(3);
        assertThat(deadLetterReasons()).containsExactly("REVERT_EXCEEDS_USAGE", "REVERT_EXCEEDS_USAGE");
    }

    @Test
    void aRevertBeyondTheAmountIsDeadLetteredAndChangesNothing() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        Rollup before = hour();

        assertRejected(revertAndRead(revert("r-1", "u-1", "11", T0.plusSeconds(600))), Reason.REVERT_EXCEEDS_USAGE);

        assertThat(hour()).isEqualTo(before);
        assertThat(rollups.isEmpty()).isTrue();
        assertThat(deadLetterReasons()).containsExactly("REVERT_EXCEEDS_USAGE");
    }

    @Test
    void aRevertOfAnUnknownUsageOrOneOfAnotherTenantOrIdSpaceIsUnknown() {
        send(usage("u-1", "10", T0.plusSeconds(60)));

        assertRejected(revertAndRead(revert("r-1", "nope", "1", T0.plusSeconds(600))), Reason.REVERT_UNKNOWN_USAGE);
        assertRejected(revertAndRead(revert("r-2", "u-1", "1", T0.plusSeconds(600)).setOrgId("org-b")), Reason.REVERT_UNKNOWN_USAGE);
        assertRejected(revertAndRead(revert("r-3", "u-1", "1", T0.plusSeconds(600)).setIdSpace(IdSpace.FRONTIER)), Reason.REVERT_UNKNOWN_USAGE);
        assertThat(hour().getRevertedQuantity()).isEqualTo(decimal("0"));
        assertThat(deadLetterReasons()).containsOnly("REVERT_UNKNOWN_USAGE").hasSize(3);
    }

    @Test
    void aRevertOfARevertOrOfAnAbsoluteIsRefused() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        send(usage("abs-1", "100", T0.plusSeconds(30)).setValueType(ValueType.ABSOLUTE).setFeatureCode("seats"));
        assertThat(revertAndRead(revert("r-1", "u-1", "1", T0.plusSeconds(600))).outcome()).isEqualTo(Outcome.APPLIED);

        assertRejected(revertAndRead(revert("r-2", "r-1", "1", T0.plusSeconds(700))), Reason.REVERT_OF_REVERT);
        assertRejected(revertAndRead(revert("r-3", "abs-1", "1", T0.plusSeconds(700))), Reason.REVERT_OF_ABSOLUTE);
        assertThat(hour().getRevertedQuantity()).isEqualTo(decimal("1"));
        assertThat(deadLetterReasons()).containsExactly("REVERT_OF_REVERT", "REVERT_OF_ABSOLUTE");
    }

    @Test
    void aRevertAfterItsUsagesHourClosedIsLateByStreamTime() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        Instant closes = T0.plus(Duration.ofHours(1)).plus(Duration.ofHours(48));
        // The revert's own event time does not matter; the usage's hour and the stream time do.
        assertThat(revertAndRead(revert("r-1", "u-1", "1", T0).setReceivedAt(T0)).outcome()).as("open").isEqualTo(Outcome.APPLIED);
        send(usage("other", "1", closes.minusSeconds(10)).setBillingAccountId(ACCOUNT), closes, false); // moves stream time

        Verdict late = revertAndRead(revert("r-2", "u-1", "1", closes));
        assertRejected(late, Reason.REVERT_LATE);
        assertThat(late.detail()).contains("closed at " + closes);
        assertThat(deadLetterReasons()).containsExactly("REVERT_LATE");
    }

    @Test
    void aRetriedRevertGetsTheSameVerdictAndIsNeverAppliedTwice() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        Verdict applied = revertAndRead(revert("r-1", "u-1", "6", T0.plusSeconds(600)));
        Verdict refused = revertAndRead(revert("r-2", "u-1", "6", T0.plusSeconds(610)));
        assertRejected(refused, Reason.REVERT_EXCEEDS_USAGE);

        // Retries: same identity and payload (received_at and a revert's event_time are when it was sent), even after
        // the remaining amount changed.
        Verdict appliedAgain = revertAndRead(revert("r-1", "u-1", "6", T0.plusSeconds(900)));
        assertThat(revertAndRead(revert("r-3", "u-1", "4", T0.plusSeconds(620))).outcome()).isEqualTo(Outcome.APPLIED);
        Verdict refusedAgain = revertAndRead(revert("r-2", "u-1", "6", T0.plusSeconds(610)));

        assertThat(appliedAgain).isEqualTo(applied.asRepeated());
        assertThat(refusedAgain).isEqualTo(refused.asRepeated());
        Rollup hour = hour();
        assertThat(hour.getRevertedQuantity()).isEqualTo(decimal("10"));
        assertThat(hour.getRevertCount()).isEqualTo(2);
        assertThat(deadLetterReasons()).as("a retry is a duplicate, not dead-lettered again").containsExactly("REVERT_EXCEEDS_USAGE");
    }

    @Test
    void aRevertKeyReusedWithAnotherPayloadIsAConflict() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        revertAndRead(revert("r-1", "u-1", "1", T0.plusSeconds(600)));

        assertRejected(revertAndRead(revert("r-1", "u-1", "2", T0.plusSeconds(600))), Reason.CONFLICT);
        assertRejected(revertAndRead(revert("u-1", "u-1", "2", T0.plusSeconds(600))), Reason.CONFLICT);
        assertThat(hour().getRevertedQuantity()).isEqualTo(decimal("1"));
    }

    @Test
    void aRevertLowersBillableOnlyWhileNoLaterAbsoluteOverwroteItsUsage() {
        send(usage("d-1", "5", T0.plusSeconds(60)));
        send(usage("a-1", "10", T0.plusSeconds(120)).setValueType(ValueType.ABSOLUTE));
        send(usage("d-2", "4", T0.plusSeconds(180)));
        assertThat(hour().getBillableQuantity()).isEqualTo(decimal("14"));

        assertThat(revertAndRead(revert("r-1", "d-1", "5", T0.plusSeconds(600))).outcome()).isEqualTo(Outcome.APPLIED);
        assertThat(hour().getBillableQuantity()).as("d-1 was overwritten by the ABSOLUTE").isEqualTo(decimal("14"));
        assertThat(revertAndRead(revert("r-2", "d-2", "3", T0.plusSeconds(600))).outcome()).isEqualTo(Outcome.APPLIED);
        Rollup hour = hour();
        assertThat(hour.getBillableQuantity()).isEqualTo(decimal("11"));
        assertThat(hour.getQuantitySum()).isEqualTo(decimal("1"));
        assertThat(hour.getRevertedQuantity()).isEqualTo(decimal("8"));
    }

    @Test
    void usagesGetVerdictsOnlyWhenTheRecordAsksForOne() {
        send(usage("u-1", "10", T0.plusSeconds(60)));
        assertThat(verdicts.isEmpty()).as("the native and Kafka path pays nothing").isTrue();

        send(usage("u-1", "10", T0.plusSeconds(60)), T0.plusSeconds(61), true);
        send(usage("u-2", "1", T0.plusSeconds(60)), T0.plusSeconds(61), true);
        send(usage("u-2", "2", T0.plusSeconds(60)), T0.plusSeconds(61), true);
        send(usage("u-3", "1", T0.minus(Duration.ofDays(3))), T0.plusSeconds(61), true);

        List<Verdict> read = verdicts.readValuesToList().stream().map(Verdict::fromJson).toList();
        assertThat(read).extracting(Verdict::eventId).containsExactly("u-1", "u-2", "u-2", "u-3");
        assertThat(read).extracting(Verdict::outcome).containsExactly(Outcome.DUPLICATE, Outcome.APPLIED, Outcome.REJECTED, Outcome.REJECTED);
        assertThat(read).extracting(Verdict::reason).containsExactly(null, null, "CONFLICT", "LATE");
    }

    @Test
    void aReplayDecidesTheSame() throws Exception {
        List<Runnable> script = List.of(
                () -> send(usage("u-1", "10", T0.plusSeconds(60))),
                () -> send(usage("u-2", "3", T0.plusSeconds(70))),
                () -> send(revert("r-1", "u-1", "4", T0.plusSeconds(600))),
                () -> send(revert("r-2", "u-1", "7", T0.plusSeconds(610))),
                () -> send(revert("r-1", "u-1", "4", T0.plusSeconds(600))),
                () -> send(revert("r-3", "r-1", "1", T0.plusSeconds(620))),
                () -> send(revert("r-4", "u-2", "3", T0.plusSeconds(630))),
                () -> send(revert("r-5", "zzz", "3", T0.plusSeconds(640))));
        List<Object> first = run(script);
        driver.close();
        driver = startDriver(Files.createDirectories(stateDir.resolve("replay")));
        latest.clear();
        List<Object> second = run(script);

        assertThat(second).isEqualTo(first);
        assertThat(first.get(first.size() - 1)).isInstanceOf(Rollup.class);
    }

    private List<Object> run(List<Runnable> script) {
        List<Object> outputs = new ArrayList<>();
        script.forEach(Runnable::run);
        verdicts.readValuesToList().forEach(value -> outputs.add(Verdict.fromJson(value)));
        outputs.addAll(deadLetterReasons());
        Rollup hour = hour();
        hour.setUpdatedAt(Instant.EPOCH);
        outputs.add(hour);
        return outputs;
    }
}
