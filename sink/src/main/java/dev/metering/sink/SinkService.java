package dev.metering.sink;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.metering.ops.OpsServer;
import dev.metering.ops.ServiceRunner;
import dev.metering.schemas.TopicSetup;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.sink.consume.RollupDecoder;
import dev.metering.sink.consume.SinkLoop;
import dev.metering.sink.consume.SinkMetrics;
import dev.metering.sink.periods.PeriodRefresher;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.RollupStore;
import dev.metering.sink.store.SinkDatabase;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.BiFunction;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sink service: consumes {@code usage-rollups} (read_committed) and upserts the rollups into
 * PostgreSQL, storing the consumed offsets in the same transaction, so every rollup update is applied
 * exactly once whatever crashes. Serves {@code /health/live}, {@code /health/ready} and {@code /metrics}.
 *
 * <p>{@link #start()} migrates the database (Flyway), creates the topics if asked to, and starts the
 * consumer thread and the HTTP endpoints. {@link #close()} lets the batch being written finish.
 */
public final class SinkService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkService.class);

    private final SinkConfig config;
    /** Opens the database side on the pool for a consumer group; {@link RollupStore} but in the crash tests. */
    private final BiFunction<DataSource, String, SinkDatabase> databaseFactory;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private HikariDataSource dataSource;
    private SinkLoop loop;
    private Thread thread;
    private PeriodRefresher periodRefresher;
    private OpsServer ops;
    private boolean closed;

    public SinkService(SinkConfig config) {
        this(config, RollupStore::new);
    }

    /** With another database side (the crash tests wrap the store with hooks inside its transaction). */
    SinkService(SinkConfig config, BiFunction<DataSource, String, SinkDatabase> databaseFactory) {
        this.config = Objects.requireNonNull(config);
        this.databaseFactory = Objects.requireNonNull(databaseFactory);
    }

    public static void main(String[] args) {
        ServiceRunner.run("sink", SinkConfig::fromEnv, SinkService::new, SinkService::start, service -> {
            service.awaitTermination();
            return service.failure(); // the consumer thread died: exit, so the supervisor restarts the process
        });
    }

    public synchronized void start() {
        if (loop != null || closed) {
            throw new IllegalStateException("SinkService can be started once");
        }
        LOG.info("Starting sink: {}", config);
        try {
            dataSource = dataSource(config);
            Migrations.migrate(dataSource, config.databaseStartupRetries(), config.maxBackoff(), config.databaseMaintenanceTimeout());
            if (config.createTopics()) {
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers()))) {
                    TopicSetup.ensureTopics(admin, config.topicSettings());
                }
            }
            SinkMetrics metrics = new SinkMetrics(registry);
            KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties(config),
                    new ByteArrayDeserializer(), new ByteArrayDeserializer());
            loop = new SinkLoop(consumer, config.topic(), new RollupDecoder(SchemaRegistryClient.forUrl(config.schemaRegistryUrl())),
                    databaseFactory.apply(dataSource, config.groupId()), metrics, config.pollTimeout(), config.initialBackoff(),
                    config.maxBackoff(), config.databaseCheckInterval());
            thread = new Thread(loop, "metering-sink-" + config.groupId());
            thread.start();
            periodRefresher = new PeriodRefresher(dataSource, config.periodRefresh(), config.databaseMaintenanceTimeout(), registry);
            periodRefresher.start();
            ops = new OpsServer(config.httpHost(), config.httpPort(), registry, this::notReadyReason);
            LOG.info("Sink consuming {} as group {}; health and metrics on port {}", config.topic(), config.groupId(), ops.port());
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("Could not open the HTTP port " + config.httpPort() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    static HikariDataSource dataSource(SinkConfig config) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("metering-sink");
        hikari.setJdbcUrl(config.jdbcUrl());
        if (config.databaseUser() != null) {
            hikari.setUsername(config.databaseUser());
        }
        if (config.databasePassword() != null) {
            hikari.setPassword(config.databasePassword());
        }
        hikari.setMaximumPoolSize(config.databasePoolSize());
        hikari.setMinimumIdle(1);
        hikari.setConnectionTimeout(config.databaseConnectTimeout().toMillis());
        hikari.setValidationTimeout(Math.min(config.databaseConnectTimeout().toMillis(), 2000));
        // Do not fail at construction when PostgreSQL is not up yet; the migration retries the connection.
        hikari.setInitializationFailTimeout(-1);
        // A dead server must surface as an error, never as a thread blocked forever on a socket. Migrations and the
        // closed months' maintenance allow their connection longer (LongStatements): they may rightly take longer.
        hikari.addDataSourceProperty("socketTimeout", String.valueOf(config.databaseSocketTimeout().toSeconds()));
        hikari.addDataSourceProperty("connectTimeout", String.valueOf(Math.max(1, config.databaseConnectTimeout().toSeconds())));
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.addDataSourceProperty("ApplicationName", "metering-sink");
        return new HikariDataSource(hikari);
    }

    static Map<String, Object> consumerProperties(SinkConfig config) {
        Map<String, Object> properties = new HashMap<>();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.kafkaBootstrapServers());
        properties.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        properties.put(ConsumerConfig.CLIENT_ID_CONFIG, config.groupId() + "-" + UUID.randomUUID().toString().substring(0, 8));
        // Only what the aggregator's transactions committed; aborted rollups never reach PostgreSQL.
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // PostgreSQL holds the position (sink_offsets); nothing is committed to Kafka.
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.batchSize());
        // A sink that dies without leaving holds its partitions until the session times out; heartbeats at a third of it.
        properties.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) config.sessionTimeout().toMillis());
        properties.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, (int) Math.min(3000, config.sessionTimeout().toMillis() / 3));
        return properties;
    }

    /** Whether the sink has stored everything its partitions held at its last poll ({@link SinkLoop#caughtUp}). */
    public boolean caughtUp() {
        SinkLoop current = loop;
        return current != null && current.caughtUp();
    }

    /** Null when ready, otherwise why not. */
    public String notReadyReason() {
        SinkLoop current = loop;
        if (current == null) {
            return closed ? "stopped" : "starting";
        }
        return current.notReadyReason();
    }

    /** The port of /health and /metrics (useful with port 0). */
    public int httpPort() {
        if (ops == null) {
            throw new IllegalStateException("not started");
        }
        return ops.port();
    }

    public PrometheusMeterRegistry meterRegistry() {
        return registry;
    }

    /** The error that stopped the consumer thread, or null. */
    public Throwable failure() {
        SinkLoop current = loop;
        return current == null ? null : current.failure();
    }

    /** Waits until the consumer thread ended (after {@link #close()} or an error). */
    public void awaitTermination() throws InterruptedException {
        Thread current = thread;
        if (current != null) {
            current.join();
        }
    }

    /** Stops consuming after the batch being written, then closes the consumer, the pool and the HTTP endpoints. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (loop != null) {
            loop.stop();
            try {
                if (!loop.awaitFinished(config.shutdownTimeout())) {
                    LOG.warn("Sink consumer did not stop within {}", config.shutdownTimeout());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (periodRefresher != null) {
            periodRefresher.close();
        }
        if (ops != null) {
            ops.close();
        }
        if (dataSource != null) {
            dataSource.close();
        }
        registry.close();
        LOG.info("Sink stopped");
    }

    @Override
    public String toString() {
        return "SinkService[group=" + config.groupId() + "]";
    }
}
