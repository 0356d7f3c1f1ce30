package dev.metering.aggregator.topology;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorMetrics;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;

/** The aggregator's topology in a {@link TopologyTestDriver}, as the topology tests run it (no broker). */
final class TopologyDrivers {
    private TopologyDrivers() {
    }

    /** With the default dedupe window (35 days), grace period (48 h) and future skew (5 min). */
    static TopologyTestDriver start(Path stateDir, SchemaRegistryClient registry, AggregatorMetrics metrics) {
        return start(stateDir, registry, metrics, Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5));
    }

    static TopologyTestDriver start(Path stateDir, SchemaRegistryClient registry, AggregatorMetrics metrics, Duration dedupeWindow,
                                    Duration gracePeriod, Duration maxFutureSkew) {
        return start(stateDir, registry, metrics, dedupeWindow, gracePeriod, maxFutureSkew, ProcessingHooks.NONE, Clock.systemUTC());
    }

    /** With failures injected by {@code hooks} and {@code clock}, the default dedupe window, grace period and future skew. */
    static TopologyTestDriver start(Path stateDir, SchemaRegistryClient registry, AggregatorMetrics metrics, ProcessingHooks hooks, Clock clock) {
        return start(stateDir, registry, metrics, Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), hooks, clock);
    }

    private static TopologyTestDriver start(Path stateDir, SchemaRegistryClient registry, AggregatorMetrics metrics, Duration dedupeWindow,
                                            Duration gracePeriod, Duration maxFutureSkew, ProcessingHooks hooks, Clock clock) {
        AggregatorConfig config = new AggregatorConfig("unused:9092", "mem://unused", "aggregator-test", stateDir, dedupeWindow, gracePeriod,
                maxFutureSkew, Duration.ofMillis(100), 1, 0, "127.0.0.1", 0, TopicSettings.DEFAULTS);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "aggregator-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        return new TopologyTestDriver(AggregatorTopology.build(config, registry, metrics, clock, hooks), props);
    }
}
