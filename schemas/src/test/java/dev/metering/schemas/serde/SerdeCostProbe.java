package dev.metering.schemas.serde;

import dev.metering.avro.Rollup;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.registry.InMemorySchemaRegistry;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * CPU cost per record of our Avro serde, in thread CPU time: writing and reading a usage event (what the ingest API and
 * the aggregator do with every event) and a rollup (what the aggregator and the sink do with every rollup). Opt-in:
 * <pre>
 * mvn -B -o -q -pl schemas test -Dserde.probe=true -Dtest=SerdeCostProbe -Dsurefire.failIfNoSpecifiedTests=false -DargLine=-XX:+UseSerialGC
 * </pre>
 * The report goes to {@code schemas/target/surefire-reports/dev.metering.schemas.serde.SerdeCostProbe-output.txt}.
 */
@EnabledIfSystemProperty(named = "serde.probe", matches = "true")
class SerdeCostProbe {
    private static final int RECORDS = 1000;
    private static final int ROUNDS = 30;
    private static final int PASSES = 40;
    private static final Instant HOUR = Instant.parse("2026-11-26T10:00:00Z");

    @Test
    void measure() {
        SchemaRegistryClient registry = InMemorySchemaRegistry.named("serde-cost-probe");
        Random random = new Random(42);
        UsageEvent[] events = new UsageEvent[RECORDS];
        Rollup[] rollups = new Rollup[RECORDS];
        for (int i = 0; i < RECORDS; i++) {
            events[i] = event(random);
            rollups[i] = rollup(random, i);
        }
        report("usage event", events, new AvroSerializer<>(registry, false), new AvroDeserializer<>(UsageEvent.class, registry));
        report("rollup", rollups, new AvroSerializer<>(registry, false), new AvroDeserializer<>(Rollup.class, registry));
    }

    private static <T extends org.apache.avro.specific.SpecificRecord> void report(String name, T[] records, AvroSerializer<T> serializer,
                                                                                 AvroDeserializer<T> deserializer) {
        byte[][] bytes = new byte[records.length][];
        for (int i = 0; i < records.length; i++) {
            bytes[i] = serializer.serialize("probe", records[i]);
        }
        double write = minMicros(i -> serializer.serialize("probe", records[i]));
        double read = minMicros(i -> deserializer.deserialize("probe", bytes[i]));
        System.out.printf("SerdeCostProbe %s (%d bytes): write %.3f us, read %.3f us per record (min of %d rounds of %d)%n",
                name, bytes[0].length, write, read, ROUNDS, PASSES * RECORDS);
    }

    private static double minMicros(Consumer<Integer> work) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int warm = 0; warm < 200; warm++) {
            for (int i = 0; i < RECORDS; i++) {
                work.accept(i);
            }
        }
        double[] micros = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            long start = threads.getCurrentThreadCpuTime();
            for (int pass = 0; pass < PASSES; pass++) {
                for (int i = 0; i < RECORDS; i++) {
                    work.accept(i);
                }
            }
            micros[r] = (threads.getCurrentThreadCpuTime() - start) / 1000.0 / PASSES / RECORDS;
        }
        return Arrays.stream(micros).min().orElseThrow();
    }

    private static UsageEvent event(Random random) {
        return UsageEvent.newBuilder()
                .setEventId("evt-" + Long.toHexString(random.nextLong()))
                .setBillingAccountId("acct-" + random.nextInt(10_000))
                .setFeatureCode("feature-" + random.nextInt(10))
                .setQuantity(BigDecimal.valueOf(1 + random.nextInt(1000), random.nextInt(3)))
                .setValueType(ValueType.DELTA)
                .setEventTime(HOUR.plusMillis(random.nextInt(3_600_000)))
                .setReceivedAt(HOUR.plusSeconds(3600))
                .setOrigin("batch")
                .build();
    }

    private static Rollup rollup(Random random, int i) {
        BigDecimal sum = BigDecimal.valueOf(random.nextInt(1_000_000), 2).setScale(12);
        BigDecimal value = BigDecimal.valueOf(1 + random.nextInt(1000)).setScale(12);
        return Rollup.newBuilder()
                .setOrgId("default")
                .setBillingAccountId("acct-" + random.nextInt(10_000))
                .setFeatureCode("feature-" + random.nextInt(10))
                .setWindowSize(WindowSize.HOUR)
                .setWindowStart(HOUR)
                .setWindowEnd(HOUR.plusSeconds(3600))
                .setEventCount(1 + random.nextInt(500))
                .setQuantitySum(sum)
                .setBillableQuantity(sum)
                .setLatestValue(value)
                .setLatestValueType(ValueType.DELTA)
                .setLatestEventTime(HOUR.plusMillis(random.nextInt(3_600_000)))
                .setLatestEventId("evt-" + i)
                .setMinValue(value)
                .setMaxValue(value)
                .setFirstEventTime(HOUR)
                .setLastEventTime(HOUR.plusSeconds(3599))
                .setUpdatedAt(HOUR.plusSeconds(3600))
                .setRevertedQuantity(BigDecimal.ZERO.setScale(12))
                .setRevertCount(0)
                .build();
    }
}
