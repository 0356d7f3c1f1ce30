package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * The aggregator's stores are of three kinds, and Kafka tags each kind's metrics with its own key; Prometheus keeps one
 * set of tag keys per metric name, so without a common key only the first kind registered was exported.
 */
class StoreMetricsTest {

    @Test
    void everyKindOfStoreIsExportedUnderStateId() {
        PrometheusMeterRegistry registry = AggregatorService.withStoreMetricsUnderOneTagKey(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        // As Micrometer's KafkaStreamsMetrics registers them (kafka.<group>.<name>, Kafka's tags with dots).
        storeGauge(registry, "in.memory.state.id", "unemitted-rollups-v2");
        storeGauge(registry, "rocksdb.state.id", "accepted-ids-v2");
        storeGauge(registry, "rocksdb.window.state.id", "hour-rollups-v2");

        assertThat(registry.scrape())
                .containsPattern("kafka_stream_state_num_open_iterators\\{[^}]*state_id=\"unemitted-rollups-v2\"")
                .containsPattern("kafka_stream_state_num_open_iterators\\{[^}]*state_id=\"accepted-ids-v2\"")
                .containsPattern("kafka_stream_state_num_open_iterators\\{[^}]*state_id=\"hour-rollups-v2\"");
    }

    private static void storeGauge(PrometheusMeterRegistry registry, String kindTag, String store) {
        Gauge.builder("kafka.stream.state.num.open.iterators", () -> 0)
                .tags(Tags.of(kindTag, store, "task.id", "0_0", "thread.id", "StreamThread-1", "kafka.version", "4.1.2"))
                .register(registry);
    }
}
