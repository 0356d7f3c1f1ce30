package dev.metering.ingest;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorService;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * A running aggregator on the broker, for the ingest ITs whose answers are its verdicts (reverts, 409 on duplicates):
 * 100 ms commits, topics of two partitions. These ITs live in e2e, which has every service, so that ingest-api's own
 * build does not wait for the aggregator's.
 */
final class VerdictAggregator {
    private VerdictAggregator() {
    }

    static AggregatorService start(EmbeddedKafka kafka, String registryUrl, String applicationId, Path stateDir) {
        AggregatorService service = new AggregatorService(new AggregatorConfig(kafka.bootstrapServers(), registryUrl, applicationId, stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30))));
        service.start();
        return service;
    }

    /**
     * The account's hour from usage-rollups (read_committed), once its reverted quantity reached the given value;
     * {@code org} null matches any org.
     */
    static Rollup awaitRollup(EmbeddedKafka kafka, String registryUrl, String org, String account, BigDecimal reverted) {
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "verdict-it-" + UUID.randomUUID(), ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<RollupKey, Rollup> consumer = new KafkaConsumer<>(config, new AvroDeserializer<>(RollupKey.class, registry),
                new AvroDeserializer<>(Rollup.class, registry))) {
            consumer.subscribe(List.of(Topics.USAGE_ROLLUPS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Rollup latest = null;
            while (System.nanoTime() < deadline) {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if ((org == null || Objects.equals(record.key().getOrgId(), org)) && record.key().getBillingAccountId().equals(account)) {
                        latest = record.value();
                    }
                }
                if (latest != null && latest.getRevertedQuantity().compareTo(reverted) == 0) {
                    return latest;
                }
            }
            throw new AssertionError("no rollup of " + (org == null ? "" : org + "/") + account + " with reverted_quantity " + reverted + "; last: " + latest);
        }
    }
}
