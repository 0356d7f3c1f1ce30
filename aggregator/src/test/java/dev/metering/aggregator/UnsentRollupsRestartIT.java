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
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hours changed and committed but not yet sent to {@code usage-rollups} when an aggregator stops are sent by the next
 * one, even on an empty state directory: the marks come back from the changelog of {@code unemitted-rollups}, and the
 * hours' complete state from the rollup store's.
 */
class UnsentRollupsRestartIT {
    private static final int EVENTS = 2_000;

    @TempDir
    Path firstStateDir;
    @TempDir
    Path secondStateDir;

    @Test
    void hoursCommittedButNotYetSentAreSentByTheNextInstance() throws Exception {
        String registryUrl = "mem://unsent-rollups-restart-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        RandomEvents generator = new RandomEvents(11L, Instant.now(), 5, "evt-");
        List<UsageEvent> events = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            events.add(generator.next(i));
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            // An emit interval far longer than the test: this instance commits its changes but never sends them.
            try (AggregatorService first = new AggregatorService(config(kafka, registryUrl, firstStateDir, Duration.ofHours(1)))) {
                first.start();
                support.awaitReady(first);
                support.produce(registry, events, 0);
                KafkaTestSupport.poll(() -> first.metrics().readCount() >= EVENTS, "the first instance to process every event");
                assertThat(first.metrics().emittedCount()).isZero();
            } // a clean close commits what was processed, the marks included

            try (AggregatorService second = new AggregatorService(config(kafka, registryUrl, secondStateDir, Duration.ofMillis(200)))) {
                second.start();
                support.awaitReady(second);
                Map<RollupKey, Expected> expected = Expected.recompute(events);
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();
                assertThat(second.metrics().readCount()).as("nothing was read again").isZero();
            }
        }
    }

    private static AggregatorConfig config(EmbeddedKafka kafka, String registryUrl, Path stateDir, Duration emitInterval) {
        return new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "unsent-rollups-restart-it", stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30)), emitInterval,
                AggregatorConfig.DEFAULT_SESSION_TIMEOUT);
    }
}
