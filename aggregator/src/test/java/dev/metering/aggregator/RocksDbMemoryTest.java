package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.topology.AggregatorTopology;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AGGREGATOR_ROCKSDB_MEMORY_BYTES: every RocksDB store of the aggregator draws on one block cache of that size, which an
 * operator sees as each store's {@code block-cache-capacity}; without it each store has Kafka's own 50 MB cache.
 */
class RocksDbMemoryTest {
    private static final long BUDGET = 64L * 1024 * 1024;
    private static final long KAFKA_DEFAULT_CACHE = 50L * 1024 * 1024;
    private static final Instant NOW = Instant.parse("2026-03-10T10:00:00Z");

    @TempDir
    Path stateDir;

    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://rocksdb-memory-test-" + UUID.randomUUID());

    @Test
    void everyStoreSharesTheConfiguredBudget() {
        Map<String, Double> capacities = blockCacheCapacityPerStore(config(BUDGET), stateDir.resolve("bounded"));

        assertThat(capacities).containsOnlyKeys(AggregatorTopology.DEDUPE_STORE, AggregatorTopology.ROLLUP_STORE);
        assertThat(capacities.values()).containsOnly((double) BUDGET);
    }

    @Test
    void withoutABudgetEachStoreHasKafkasOwnCache() {
        Map<String, Double> capacities = blockCacheCapacityPerStore(config(0), stateDir.resolve("default"));

        assertThat(capacities).containsOnlyKeys(AggregatorTopology.DEDUPE_STORE, AggregatorTopology.ROLLUP_STORE);
        // The hour store has one RocksDB instance per time segment, each with a cache of its own.
        assertThat(capacities.get(AggregatorTopology.DEDUPE_STORE)).isEqualTo((double) KAFKA_DEFAULT_CACHE);
        assertThat(capacities.get(AggregatorTopology.ROLLUP_STORE)).isGreaterThanOrEqualTo((double) KAFKA_DEFAULT_CACHE);
    }

    private AggregatorConfig config(long rocksDbMemoryBytes) {
        return new AggregatorConfig("unused:9092", "mem://unused", "rocksdb-memory-test", stateDir, Duration.ofDays(35), Duration.ofHours(48),
                Duration.ofMinutes(5), Duration.ofMillis(100), 1, 0, "127.0.0.1", 0, TopicSettings.DEFAULTS, Duration.ofMillis(100),
                AggregatorConfig.DEFAULT_SESSION_TIMEOUT, rocksDbMemoryBytes);
    }

    /** Aggregates random events with the service's Kafka Streams properties, checks they were counted, and reads the stores' metric. */
    private Map<String, Double> blockCacheCapacityPerStore(AggregatorConfig config, Path storeDir) {
        var properties = AggregatorService.streamsProperties(config);
        properties.put("state.dir", storeDir.toString());
        AggregatorMetrics metrics = new AggregatorMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        try (TopologyTestDriver driver = new TopologyTestDriver(AggregatorTopology.build(config, registry, metrics), properties)) {
            TestInputTopic<byte[], byte[]> input = driver.createInputTopic(Topics.USAGE_EVENTS, new ByteArraySerializer(), new ByteArraySerializer());
            AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
            RandomEvents events = new RandomEvents(7, NOW, 50, "e-");
            int sent = 300;
            for (int i = 0; i < sent; i++) {
                UsageEvent event = events.next(i);
                input.pipeInput(event.getBillingAccountId().getBytes(StandardCharsets.UTF_8), serializer.serialize(Topics.USAGE_EVENTS, event), NOW);
            }
            driver.advanceWallClockTime(Duration.ofSeconds(1));
            var rollups = driver.createOutputTopic(Topics.USAGE_ROLLUPS, new AvroDeserializer<>(RollupKey.class, registry),
                    new AvroDeserializer<>(Rollup.class, registry)).readKeyValuesToMap();
            assertThat(rollups.values().stream().mapToLong(Rollup::getEventCount).sum()).isEqualTo(sent);

            Map<String, Double> capacities = new TreeMap<>();
            for (Map.Entry<MetricName, ? extends Metric> metric : driver.metrics().entrySet()) {
                MetricName name = metric.getKey();
                if (name.name().equals("block-cache-capacity")) {
                    String store = Set.of("rocksdb-state-id", "rocksdb-window-state-id").stream()
                            .map(name.tags()::get).filter(java.util.Objects::nonNull).findFirst().orElseThrow();
                    capacities.put(store, ((Number) metric.getValue().metricValue()).doubleValue());
                }
            }
            return capacities;
        }
    }
}
