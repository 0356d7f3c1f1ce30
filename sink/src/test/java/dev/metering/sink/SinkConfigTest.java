package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ops.Env;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SinkConfigTest {

    private static Env env(String... pairs) {
        Map<String, String> variables = new HashMap<>(Map.of(
                "KAFKA_BOOTSTRAP_SERVERS", "kafka:9092",
                "SCHEMA_REGISTRY_URL", "http://registry:8081",
                "DATABASE_URL", "jdbc:postgresql://db:5432/metering"));
        for (int i = 0; i < pairs.length; i += 2) {
            variables.put(pairs[i], pairs[i + 1]);
        }
        return new Env(variables);
    }

    @Test
    void defaults() {
        SinkConfig config = SinkConfig.fromEnv(env());
        assertThat(config.kafkaBootstrapServers()).isEqualTo("kafka:9092");
        assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://db:5432/metering");
        assertThat(config.databaseUser()).isNull();
        assertThat(config.groupId()).isEqualTo("metering-sink");
        assertThat(config.topic()).isEqualTo("usage-rollups");
        assertThat(config.batchSize()).isEqualTo(500);
        assertThat(config.httpPort()).isEqualTo(7402);
        assertThat(config.maxBackoff()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.createTopics()).isTrue();
        assertThat(config.periodRefresh().monthOrderInterval()).isEqualTo(Duration.ofHours(1));
        assertThat(config.periodRefresh().monthClosedAfter()).as("the default grace period and an hour").isEqualTo(Duration.ofHours(49));
    }

    @Test
    void closedMonthsFollowTheAggregatorsGracePeriod() {
        SinkConfig config = SinkConfig.fromEnv(env("SINK_MONTH_ORDER_INTERVAL", "10m", "METERING_GRACE_PERIOD", "72h"));
        assertThat(config.periodRefresh().monthOrderInterval()).isEqualTo(Duration.ofMinutes(10));
        assertThat(config.periodRefresh().monthClosedAfter()).isEqualTo(Duration.ofHours(73));
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("SINK_MONTH_ORDER_INTERVAL", "0s"))).hasMessageContaining("month order interval");
    }

    @Test
    void longStatementsMayRunLongerThanOrdinaryOnes() {
        SinkConfig defaults = SinkConfig.fromEnv(env());
        assertThat(defaults.databaseSocketTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(defaults.databaseMaintenanceTimeout()).isEqualTo(Duration.ofHours(6));
        SinkConfig set = SinkConfig.fromEnv(env("SINK_DB_SOCKET_TIMEOUT", "30s", "SINK_DB_MAINTENANCE_TIMEOUT", "2h"));
        assertThat(set.databaseSocketTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(set.databaseMaintenanceTimeout()).isEqualTo(Duration.ofHours(2));
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("SINK_DB_SOCKET_TIMEOUT", "500ms"))).hasMessageContaining("at least 1s");
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("SINK_DB_SOCKET_TIMEOUT", "10m", "SINK_DB_MAINTENANCE_TIMEOUT", "5m")))
                .hasMessageContaining("shorter than the socket timeout");
    }

    @Test
    void readsEveryVariable() {
        SinkConfig config = SinkConfig.fromEnv(env("DATABASE_USER", "sink", "DATABASE_PASSWORD", "secret", "SINK_GROUP_ID", "g2",
                "SINK_BATCH_SIZE", "50", "SINK_POLL_TIMEOUT", "250ms", "SINK_HTTP_PORT", "0", "SINK_MAX_BACKOFF", "5s",
                "SINK_CREATE_TOPICS", "false", "METERING_TOPIC_PARTITIONS", "3", "SINK_SESSION_TIMEOUT", "6s"));
        assertThat(config.databaseUser()).isEqualTo("sink");
        assertThat(config.databasePassword()).isEqualTo("secret");
        assertThat(config.groupId()).isEqualTo("g2");
        assertThat(config.batchSize()).isEqualTo(50);
        assertThat(config.pollTimeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(config.httpPort()).isZero();
        assertThat(config.maxBackoff()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.createTopics()).isFalse();
        assertThat(config.topicSettings().partitions()).isEqualTo(3);
        assertThat(config.sessionTimeout()).isEqualTo(Duration.ofSeconds(6));
        assertThat(SinkService.consumerProperties(config)).containsEntry("session.timeout.ms", 6000).containsEntry("heartbeat.interval.ms", 2000);
    }

    @Test
    void convertsPostgresUrlWithCredentials() {
        SinkConfig config = SinkConfig.fromEnv(env("DATABASE_URL", "postgres://metering:p%40ss%3Aw0rd@db.example.com:6543/usage?sslmode=require"));
        assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:6543/usage?sslmode=require");
        assertThat(config.databaseUser()).isEqualTo("metering");
        assertThat(config.databasePassword()).isEqualTo("p@ss:w0rd");
    }

    @Test
    void postgresqlSchemeDefaultPortAndExplicitUserWins() {
        SinkConfig config = SinkConfig.fromEnv(env("DATABASE_URL", "postgresql://u:p@localhost/metering", "DATABASE_USER", "other"));
        assertThat(config.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/metering");
        assertThat(config.databaseUser()).isEqualTo("other");
        assertThat(config.databasePassword()).isEqualTo("p");
    }

    @Test
    void badValuesNameTheVariable() {
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("DATABASE_URL", "mysql://db/x")))
                .hasMessageContaining("DATABASE_URL");
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("DATABASE_URL", "postgres://u:p@db:5432/")))
                .hasMessageContaining("DATABASE_URL").hasMessageContaining("database");
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("SINK_BATCH_SIZE", "0"))).hasMessageContaining("SINK_BATCH_SIZE");
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("SINK_MAX_BACKOFF", "soon"))).hasMessageContaining("SINK_MAX_BACKOFF");
        Map<String, String> missing = new HashMap<>(Map.of("KAFKA_BOOTSTRAP_SERVERS", "k:9092", "SCHEMA_REGISTRY_URL", "mem://x"));
        assertThatThrownBy(() -> SinkConfig.fromEnv(new Env(missing))).hasMessageContaining("DATABASE_URL must be set");
    }

    @Test
    void passwordNeverInToStringOrErrors() {
        SinkConfig config = SinkConfig.fromEnv(env("DATABASE_URL", "jdbc:postgresql://db/m?user=u&password=hunter2"));
        assertThat(config.toString()).doesNotContain("hunter2");
        assertThatThrownBy(() -> SinkConfig.fromEnv(env("DATABASE_URL", "postgres://u:hunter2@/nohost")))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("hunter2"));
    }

    @Test
    void standaloneDefaults() {
        SinkConfig config = SinkConfig.defaults("k:9092", "mem://standalone", "jdbc:postgresql://127.0.0.1:5433/postgres", "postgres", null)
                .withHttpPort(0);
        assertThat(config.databaseUser()).isEqualTo("postgres");
        assertThat(config.databasePassword()).isNull();
        assertThat(config.httpPort()).isZero();
        assertThat(config.groupId()).isEqualTo("metering-sink");
    }

    @Test
    void everyVariableReadIsDocumentedInTheReadme() throws java.io.IOException {
        Env env = env();
        SinkConfig.fromEnv(env);
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        assertThat(env.namesRead()).isNotEmpty().allSatisfy(name -> assertThat(readme).contains("| `" + name + "` |"));
    }
}
