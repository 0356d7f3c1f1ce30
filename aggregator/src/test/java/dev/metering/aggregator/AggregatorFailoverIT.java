package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two aggregator instances share the work; the broker restarts while they process, then one instance leaves
 * and the other takes over its tasks. exactly_once_v2 must keep the rollups equal to the recomputation.
 */
class AggregatorFailoverIT {
    private static final int EVENTS_PER_BATCH = 8_000;

    @TempDir
    Path stateDirA;
    @TempDir
    Path stateDirB;

    @Test
    void rollupsStayExactThroughABrokerRestartAndAnInstanceLeaving() throws Exception {
        String registryUrl = "mem://aggregator-failover-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        RandomEvents generator = new RandomEvents(99L, Instant.now(), 20, "evt-");
        List<List<UsageEvent>> batches = new ArrayList<>();
        List<UsageEvent> unique = new ArrayList<>();
        for (int batch = 0; batch < 3; batch++) {
            List<UsageEvent> events = new ArrayList<>();
            for (int i = 0; i < EVENTS_PER_BATCH; i++) {
                UsageEvent event = generator.next(batch * EVENTS_PER_BATCH + i);
                events.add(event);
                unique.add(event);
            }
            for (int i = 0; i < EVENTS_PER_BATCH / 20; i++) {
                events.add(unique.get(generator.random().nextInt(unique.size()))); // duplicates, also of earlier batches
            }
            batches.add(events);
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            AggregatorService instanceA = new AggregatorService(config(kafka, registryUrl, stateDirA));
            try (AggregatorService instanceB = new AggregatorService(config(kafka, registryUrl, stateDirB))) {
                instanceA.start();
                instanceB.start();
                support.awaitReady(instanceA);
                support.awaitReady(instanceB);

                support.produce(registry, batches.get(0), 0);
                kafka.restart(); // while the instances are still working through the first batch
                support.produce(registry, batches.get(1), 0);
                instanceA.close(); // B takes over A's tasks, restoring their state from the changelogs
                support.produce(registry, batches.get(2), 0);

                // Around the restart, records whose send failed were resent after later ones: recompute in log order.
                List<UsageEvent> accepted = Expected.firstOccurrences(support.eventsInLogOrder(registry));
                assertThat(accepted).as("every event generated, once, in the log").hasSameSizeAs(unique);
                assertThat(new HashSet<>(accepted)).as("every event generated, once, in the log").isEqualTo(new HashSet<>(unique));
                Map<RollupKey, Expected> expected = Expected.recompute(accepted);
                Map<RollupKey, Expected> actual = support.readRollupsUntil(registry, expected);
                assertThat(Expected.differences(expected, actual)).as("rollups differing from the recomputation").isEmpty();
            } finally {
                instanceA.close();
            }
        }
    }

    /**
     * The broker's shortest session: an instance whose leave request is lost around the broker restart is dropped
     * from the group after 6 s instead of Kafka's 45 (seen: the test took 17 s or 58 s by that alone).
     */
    private static AggregatorConfig config(EmbeddedKafka kafka, String registryUrl, Path stateDir) {
        Duration commitInterval = Duration.ofMillis(200);
        return new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "aggregator-failover-it", stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), commitInterval, 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(4, (short) 1, Duration.ofDays(7), Duration.ofDays(30)), commitInterval, Duration.ofSeconds(6));
    }
}
