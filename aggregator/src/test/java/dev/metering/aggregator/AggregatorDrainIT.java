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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backlog drained exactly: 50,000 events (uniform over 10,000 accounts) are in {@code usage-events} before the
 * aggregator starts; every rollup read back (read_committed) must reach its expected figures. The drain time is
 * logged for orientation only; the benchmark ({@code bench}, drain phase) measures the rate.
 * {@code -Ddrain.events=N} and {@code -Ddrain.accounts=N} (few accounts: many events per hour) change the load.
 */
class AggregatorDrainIT {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorDrainIT.class);
    private static final int EVENTS = Integer.getInteger("drain.events", 50_000);
    private static final int ACCOUNTS = Integer.getInteger("drain.accounts", 10_000);

    @TempDir
    Path stateDir;

    @Test
    void drainsAPreloadedTopicExactlyAndLogsTheRate() throws Exception {
        String registryUrl = "mem://aggregator-drain-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        RandomEvents generator = new RandomEvents(20261126L, Instant.now(), ACCOUNTS, "drain-");
        List<UsageEvent> events = new ArrayList<>(EVENTS);
        for (int i = 0; i < EVENTS; i++) {
            events.add(generator.next(i));
        }
        Map<RollupKey, Expected> expected = Expected.recompute(events);

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            AggregatorConfig config = new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "aggregator-drain", stateDir,
                    Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 10L * 1024 * 1024,
                    "127.0.0.1", 0, new TopicSettings(3, (short) 1, Duration.ofDays(7), Duration.ofDays(30)));
            try (AdminTopics topics = new AdminTopics(kafka.bootstrapServers(), config.topics())) {
                topics.create();
            }
            support.produce(registry, events, 0);
            try (AggregatorService service = new AggregatorService(config)) {
                long started = System.nanoTime();
                service.start();
                Map<RollupKey, Expected> actual = support.readRollupsUntil(registry, expected);
                double seconds = (support.convergedAtNanos - started) / 1e9;
                LOG.info("DRAIN {} events, {} accounts, into {} hour rollups: {} s including start-up, {} events/s", EVENTS, ACCOUNTS, expected.size(),
                        String.format("%.1f", seconds), String.format("%.0f", EVENTS / seconds));
                assertThat(Expected.differences(expected, actual)).isEmpty();
            }
        }
    }

    /** Creates the topics before the aggregator runs, so the events can be produced first. */
    private record AdminTopics(org.apache.kafka.clients.admin.Admin admin, TopicSettings settings) implements AutoCloseable {
        AdminTopics(String bootstrapServers, TopicSettings settings) {
            this(org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrapServers)), settings);
        }

        void create() {
            dev.metering.schemas.TopicSetup.ensureTopics(admin, settings);
        }

        @Override
        public void close() {
            admin.close();
        }
    }
}
