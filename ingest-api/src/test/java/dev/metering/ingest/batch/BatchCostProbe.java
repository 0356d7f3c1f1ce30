package dev.metering.ingest.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.UsageEvent;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ops.http.StrictJson;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.InMemorySchemaRegistry;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.serde.AvroSerializer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * CPU cost per event of the batch endpoint's own work, without HTTP or Kafka: parse a realistic 1000-event body, validate
 * it ({@link BatchEventsEndpoint#validate}) and serialize every event with the project's {@link AvroSerializer}. Measured
 * in thread CPU time, so another process on the machine barely moves it. Opt-in (it takes ~20 s and wants C2):
 * <pre>
 * mvn -B -o -q -pl ingest-api -am test -Dingest.probe=true -Dtest=BatchCostProbe -Dsurefire.failIfNoSpecifiedTests=false -DargLine=-XX:+UseSerialGC
 * </pre>
 * ({@code -am}: schemas and ops from this tree, not an older install in ~/.m2). The report goes to
 * {@code ingest-api/target/surefire-reports/dev.metering.ingest.batch.BatchCostProbe-output.txt} (and standard output when
 * run as {@link #main}).
 */
@EnabledIfSystemProperty(named = "ingest.probe", matches = "true")
class BatchCostProbe {
    private static final int EVENTS = BatchEventsEndpoint.MAX_EVENTS;
    private static final int BODIES = 16;
    private static final String[] FEATURES = {"api-calls", "storage-gb-hours", "gpu-seconds", "seats"};

    @Test
    void measure() throws IOException {
        run(Integer.getInteger("ingest.probe.rounds", 15));
    }

    public static void main(String[] args) throws IOException {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 15);
    }

    static void run(int rounds) throws IOException {
        ObjectMapper json = StrictJson.mapper();
        RequestRules rules = new RequestRules(EventRules.defaults(), Clock.systemUTC());
        ApiKey key = ApiKey.parse("probe:probe-secret");
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(InMemorySchemaRegistry.named("batch-cost-probe"), false);
        List<byte[]> bodies = new ArrayList<>();
        Random random = new Random(42);
        for (int i = 0; i < BODIES; i++) {
            bodies.add(body(random, Instant.now()));
        }

        // Warm-up: long enough for C2 to compile the whole path.
        Phases warm = new Phases();
        for (int i = 0; i < 300; i++) {
            once(bodies.get(i % BODIES), json, key, rules, serializer, warm);
        }
        double[] total = new double[rounds];
        double[] parse = new double[rounds];
        double[] validate = new double[rounds];
        double[] serialize = new double[rounds];
        double[] allocated = new double[rounds];
        int batchesPerRound = 40;
        for (int r = 0; r < rounds; r++) {
            Phases phases = new Phases();
            for (int i = 0; i < batchesPerRound; i++) {
                once(bodies.get(i % BODIES), json, key, rules, serializer, phases);
            }
            double events = (double) batchesPerRound * EVENTS;
            parse[r] = phases.parseNanos / events / 1000;
            validate[r] = phases.validateNanos / events / 1000;
            serialize[r] = phases.serializeNanos / events / 1000;
            total[r] = parse[r] + validate[r] + serialize[r];
            allocated[r] = phases.allocatedBytes / events;
        }
        System.out.printf("BatchCostProbe: %d rounds x %d batches x %d events, body %d bytes, JVM %s%n",
                rounds, batchesPerRound, EVENTS, bodies.get(0).length, ManagementFactory.getRuntimeMXBean().getInputArguments());
        System.out.printf("CPU us/event  median  total %.2f | parse %.2f  validate %.2f  serialize %.2f%n",
                median(total), median(parse), median(validate), median(serialize));
        System.out.printf("CPU us/event  min     total %.2f | parse %.2f  validate %.2f  serialize %.2f%n",
                min(total), min(parse), min(validate), min(serialize));
        System.out.printf("allocated bytes/event median %.0f%n", median(allocated));
    }

    private static final class Phases {
        long parseNanos;
        long validateNanos;
        long serializeNanos;
        long allocatedBytes;
        long sink;
    }

    private static void once(byte[] body, ObjectMapper json, ApiKey key, RequestRules rules, AvroSerializer<UsageEvent> serializer,
                             Phases phases) throws IOException {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        long start = threads.getCurrentThreadCpuTime();
        JsonNode tree = json.readTree(body);
        long parsed = threads.getCurrentThreadCpuTime();
        List<BatchEventsEndpoint.Result> results = BatchEventsEndpoint.validate(tree, key, rules);
        long validated = threads.getCurrentThreadCpuTime();
        long bytes = 0;
        for (BatchEventsEndpoint.Result result : results) {
            bytes += serializer.serialize(Topics.USAGE_EVENTS, result.event()).length;
        }
        long serialized = threads.getCurrentThreadCpuTime();
        phases.allocatedBytes += threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        phases.parseNanos += parsed - start;
        phases.validateNanos += validated - parsed;
        phases.serializeNanos += serialized - validated;
        phases.sink += bytes;
        assertThat(results).allSatisfy(result -> assertThat(result.error()).isNull());
    }

    /** A body like a busy client's: uuid ids, a few hundred accounts, string and number quantities, some metadata. */
    static byte[] body(Random random, Instant now) {
        StringBuilder out = new StringBuilder(EVENTS * 220).append("{\"events\":[");
        for (int i = 0; i < EVENTS; i++) {
            if (i > 0) {
                out.append(',');
            }
            Instant time = now.minusMillis(random.nextInt(3_600_000)).truncatedTo(random.nextBoolean() ? ChronoUnit.MILLIS : ChronoUnit.SECONDS);
            out.append("{\"event_id\":\"evt-").append(new UUID(random.nextLong(), random.nextLong())).append('"')
                    .append(",\"billing_account_id\":\"acct-").append(String.format("%05d", random.nextInt(500))).append('"')
                    .append(",\"feature_code\":\"").append(FEATURES[random.nextInt(FEATURES.length)]).append('"')
                    .append(",\"quantity\":").append(random.nextBoolean() ? "\"1.5\"" : Integer.toString(1 + random.nextInt(10)))
                    .append(",\"event_time\":\"").append(DateTimeFormatter.ISO_INSTANT.format(time)).append('"');
            if (i % 4 == 0) {
                out.append(",\"user_id\":\"user-").append(random.nextInt(10_000)).append('"');
            }
            if (i % 5 == 0) {
                out.append(",\"metadata\":{\"region\":\"eu-west-1\",\"sdk\":\"java/1.4.2\"}");
            }
            out.append('}');
        }
        return out.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }
}
