package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ops.Env;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AggregatorConfigTest {
    private static final Map<String, String> REQUIRED = Map.of(
            "KAFKA_BOOTSTRAP_SERVERS", "kafka:9092",
            "SCHEMA_REGISTRY_URL", "http://registry:8081");

    @Test
    void defaultsFollowTheDesign() {
        AggregatorConfig config = AggregatorConfig.fromEnv(new Env(REQUIRED));

        assertThat(config.bootstrapServers()).isEqualTo("kafka:9092");
        assertThat(config.schemaRegistryUrl()).isEqualTo("http://registry:8081");
        assertThat(config.applicationId()).isEqualTo("metering-aggregator");
        assertThat(config.dedupeWindow()).isEqualTo(Duration.ofDays(35));
        assertThat(config.gracePeriod()).isEqualTo(Duration.ofHours(48));
        assertThat(config.maxFutureSkew()).isEqualTo(Duration.ofMinutes(5));
        assertThat(config.emitInterval()).isEqualTo(Duration.ofMillis(100));
        assertThat(config.httpPort()).isEqualTo(7401);
        assertThat(config.topics().partitions()).isEqualTo(6);
        assertThat(config.topics().replicationFactor()).isEqualTo((short) 1);
        assertThat(config.rocksDbMemoryBytes()).as("Kafka's per-store RocksDB defaults").isZero();
    }

    @Test
    void everyVariableIsRead() {
        Map<String, String> variables = new java.util.HashMap<>(REQUIRED);
        variables.putAll(Map.of(
                "AGGREGATOR_APPLICATION_ID", "agg-2",
                "AGGREGATOR_STATE_DIR", "/var/lib/aggregator",
                "METERING_DEDUPE_WINDOW", "7d",
                "METERING_GRACE_PERIOD", "PT2H",
                "METERING_MAX_FUTURE_SKEW", "30s",
                "AGGREGATOR_COMMIT_INTERVAL", "1s",
                "AGGREGATOR_HTTP_PORT", "0",
                "METERING_TOPIC_PARTITIONS", "12",
                "METERING_TOPIC_REPLICATION", "3",
                "AGGREGATOR_STREAM_THREADS", "2"));
        variables.put("AGGREGATOR_EMIT_INTERVAL", "250ms");
        variables.put("AGGREGATOR_SESSION_TIMEOUT", "6s");
        variables.put("AGGREGATOR_ROCKSDB_MEMORY_BYTES", "536870912");
        AggregatorConfig config = AggregatorConfig.fromEnv(new Env(variables));

        assertThat(config.applicationId()).isEqualTo("agg-2");
        assertThat(config.stateDir()).isEqualTo(Path.of("/var/lib/aggregator"));
        assertThat(config.dedupeWindow()).isEqualTo(Duration.ofDays(7));
        assertThat(config.gracePeriod()).isEqualTo(Duration.ofHours(2));
        assertThat(config.maxFutureSkew()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.commitInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(config.httpPort()).isZero();
        assertThat(config.topics().partitions()).isEqualTo(12);
        assertThat(config.topics().replicationFactor()).isEqualTo((short) 3);
        assertThat(config.streamThreads()).isEqualTo(2);
        assertThat(config.rocksDbMemoryBytes()).isEqualTo(512L * 1024 * 1024);
        assertThat(config.emitInterval()).isEqualTo(Duration.ofMillis(250));
        assertThat(config.sessionTimeout()).isEqualTo(Duration.ofSeconds(6));
        assertThat(config.rules().gracePeriod()).isEqualTo(Duration.ofHours(2));
        assertThat(config.rules().maxFutureSkew()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void badValuesNameTheVariable() {
        assertThatThrownBy(() -> AggregatorConfig.fromEnv(new Env(Map.of("SCHEMA_REGISTRY_URL", "mem://x"))))
                .hasMessageContaining("KAFKA_BOOTSTRAP_SERVERS");
        Map<String, String> badGrace = new java.util.HashMap<>(REQUIRED);
        badGrace.put("METERING_GRACE_PERIOD", "two days");
        assertThatThrownBy(() -> AggregatorConfig.fromEnv(new Env(badGrace))).hasMessageContaining("METERING_GRACE_PERIOD");
        Map<String, String> zeroDedupe = new java.util.HashMap<>(REQUIRED);
        zeroDedupe.put("METERING_DEDUPE_WINDOW", "0s");
        assertThatThrownBy(() -> AggregatorConfig.fromEnv(new Env(zeroDedupe))).hasMessageContaining("dedupe window");
        Map<String, String> negativeMemory = new java.util.HashMap<>(REQUIRED);
        negativeMemory.put("AGGREGATOR_ROCKSDB_MEMORY_BYTES", "-1");
        assertThatThrownBy(() -> AggregatorConfig.fromEnv(new Env(negativeMemory))).hasMessageContaining("RocksDB memory");
    }

    @Test
    void everyVariableReadIsDocumentedInTheReadme() throws java.io.IOException {
        Env env = new Env(REQUIRED);
        AggregatorConfig.fromEnv(env);
        String readme = java.nio.file.Files.readString(Path.of("README.md"));
        assertThat(env.namesRead()).hasSizeGreaterThan(10).allSatisfy(name -> assertThat(readme).contains("| `" + name + "` |"));
    }
}
