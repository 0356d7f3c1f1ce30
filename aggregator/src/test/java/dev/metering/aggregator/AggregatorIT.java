package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator on a real broker with exactly_once_v2: 100,000 random events with ~5% duplicates, out-of-order
 * event times and some garbage; the rollups read back with read_committed must equal a plain recomputation.
 */
class AggregatorIT {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorIT.class);
    private static final int EVENTS = 100_000;

    @TempDir
    Path stateDir;

    @Test
    void rollupsEqualAnIndependentRecomputationOfTheAcceptedEvents() throws Exception {
        String registryUrl = "mem://aggregator-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);

        RandomEvents generator = new RandomEvents(20261123L, Instant.now(), 40, "evt-");
        List<UsageEvent> unique = new ArrayList<>(EVENTS);
        for (int i = 0; i < EVENTS; i++) {
            unique.add(generator.next(i));
        }
        // ~5% duplicates, resent later (half with another received_at, as a client retry would), and everything
        // shuffled so event times arrive out of order.
        List<UsageEvent> sent = new ArrayList<>(unique);
        int duplicates = EVENTS / 20;
        for (int i = 0; i < duplicates; i++) {
            UsageEvent original = unique.get(generator.random().nextInt(EVENTS));
            sent.add(i % 2 == 0 ? original : UsageEvent.newBuilder(original).setReceivedAt(original.getReceivedAt().plusSeconds(1)).build());
        }
        Collections.shuffle(sent, generator.random());
        int undecodable = 50;
        // One producer, keyed by account: each account's events are in the log in the order sent, and the first of equal
        // events is the one accepted.
        Map<RollupKey, Expected> expected = Expected.recompute(Expected.firstOccurrences(sent));

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            AggregatorConfig config = new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "aggregator-it", stateDir,
                    Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(500), 1, 10L * 1024 * 1024,
                    "127.0.0.1", 0, new TopicSettings(3, (short) 1, Duration.ofDays(7), Duration.ofDays(30)));
            try (AggregatorService service = new AggregatorService(config)) {
                service.start();
                support.awaitReady(service);

                long started = System.nanoTime();
                support.produce(registry, sent, undecodable);
                Map<RollupKey, Expected> actual = support.readRollupsUntil(registry, expected);
                LOG.info("{} records ({} duplicates, {} undecodable) aggregated into {} rollups in {} s", sent.size() + undecodable,
                        duplicates, undecodable, actual.size(), Duration.ofNanos(System.nanoTime() - started).toSeconds());

                assertThat(Expected.differences(expected, actual)).as("rollups differing from the recomputation").isEmpty();

                List<ConsumerRecord<byte[], byte[]>> deadLetters = support.readDeadLetters(undecodable);
                assertThat(deadLetters).hasSize(undecodable).allSatisfy(record ->
                        assertThat(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER)).isEqualTo("UNDECODABLE"));
                assertThat(service.metrics().duplicateCount()).isEqualTo(duplicates);
                assertThat(service.metrics().acceptedCount()).isEqualTo(EVENTS);
                assertThat(service.metrics().readCount()).isEqualTo(sent.size() + undecodable);

                HttpResponse<String> metrics = KafkaTestSupport.get(service, "/metrics");
                assertThat(metrics.body())
                        .contains("metering_aggregator_events_accepted_total " + (double) EVENTS)
                        .contains("metering_aggregator_duplicates_dropped_total " + (double) duplicates)
                        .contains("metering_aggregator_events_dead_lettered_total{reason=\"UNDECODABLE\"} " + (double) undecodable)
                        .contains("metering_aggregator_end_to_end_lag_seconds_count");
            }
        }
    }
}
