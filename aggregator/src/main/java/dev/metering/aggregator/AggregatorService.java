package dev.metering.aggregator;

import dev.metering.aggregator.state.BoundedRocksDbMemory;
import dev.metering.aggregator.topology.AggregatorTopology;
import dev.metering.ops.OpsServer;
import dev.metering.ops.ServiceRunner;
import dev.metering.schemas.TopicSetup;
import dev.metering.schemas.registry.SchemaRegistryClient;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator as a service: creates or verifies the topics, runs the Kafka Streams topology with
 * exactly_once_v2 and serves {@code /health/*} and {@code /metrics}. Several instances may run in one JVM
 * (each with its own state directory or application id and HTTP port).
 */
public final class AggregatorService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorService.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

    private final AggregatorConfig config;
    private final PrometheusMeterRegistry meterRegistry = withStoreMetricsUnderOneTagKey(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    private final AggregatorMetrics metrics = new AggregatorMetrics(meterRegistry);
    private KafkaStreams streams;
    private KafkaStreamsMetrics streamsMetrics;
    private OpsServer opsServer;

    public AggregatorService(AggregatorConfig config) {
        this.config = config;
    }

    /**
     * Kafka tags a store's metrics by the store's kind ({@code rocksdb.state.id}, {@code rocksdb.window.state.id},
     * {@code in.memory.state.id}); Prometheus takes one set of tag keys per metric name and dropped the other kinds'
     * (with a warning at start). Under one key, {@code state.id}, every store's metrics are exported; the store names
     * tell the kinds apart.
     */
    static PrometheusMeterRegistry withStoreMetricsUnderOneTagKey(PrometheusMeterRegistry registry) {
        for (String kind : List.of("rocksdb.state.id", "rocksdb.window.state.id", "in.memory.state.id")) {
            registry.config().meterFilter(MeterFilter.renameTag("kafka.stream.state", kind, "state.id"));
        }
        return registry;
    }

    public static void main(String[] args) {
        ServiceRunner.run("aggregator", AggregatorConfig::fromEnv, AggregatorService::new, AggregatorService::start);
    }

    /** Creates or verifies the topics, starts the stream threads and the ops endpoints; returns without waiting for RUNNING. */
    public synchronized void start() {
        if (streams != null) {
            throw new IllegalStateException("aggregator already started");
        }
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers()))) {
            TopicSetup.ensureTopics(admin, config.topics());
        }
        Topology topology = AggregatorTopology.build(config, SchemaRegistryClient.forUrl(config.schemaRegistryUrl()), metrics);
        LOG.info("Aggregator topology:\n{}", topology.describe());
        streams = new KafkaStreams(topology, streamsProperties(config));
        streams.setUncaughtExceptionHandler(exception -> {
            // Poison records are dead-lettered by the processor; what gets here is infrastructure (registry down,
            // broker fenced us, a bug). Replacing the thread retries from the last committed transaction.
            LOG.error("Stream thread failed; replacing it and retrying from the last commit", exception);
            return StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((newState, oldState) -> LOG.info("Aggregator streams state {} -> {}", oldState, newState));
        streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(meterRegistry);
        streams.start();
        try {
            opsServer = new OpsServer(config.httpHost(), config.httpPort(), meterRegistry, this::notReadyReason);
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("Could not listen on " + config.httpHost() + ":" + config.httpPort(), e);
        }
        LOG.info("Aggregator started (application id {}, ops endpoints on port {})", config.applicationId(), opsServer.port());
    }

    /** Null when ready (all stream threads RUNNING), otherwise the state. */
    public String notReadyReason() {
        KafkaStreams current = streams;
        if (current == null) {
            return "not started";
        }
        KafkaStreams.State state = current.state();
        return state == KafkaStreams.State.RUNNING ? null : "Kafka Streams is " + state;
    }

    public KafkaStreams.State state() {
        return streams == null ? KafkaStreams.State.CREATED : streams.state();
    }

    /** The port of {@code /health} and {@code /metrics} (useful with port 0). */
    public int httpPort() {
        return opsServer == null ? -1 : opsServer.port();
    }

    public AggregatorMetrics metrics() {
        return metrics;
    }

    public PrometheusMeterRegistry meterRegistry() {
        return meterRegistry;
    }

    static Properties streamsProperties(AggregatorConfig config) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitInterval().toMillis());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.streamThreads());
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, config.cacheMaxBytes());
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) config.topics().replicationFactor());
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
        // Values are read as bytes and validated by the processor, so deserialization cannot fail; should it
        // ever, the record is logged and skipped instead of stopping the application.
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        if (config.rocksDbMemoryBytes() > 0) {
            props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbMemory.class);
            props.put(BoundedRocksDbMemory.TOTAL_BYTES_CONFIG, config.rocksDbMemoryBytes());
        }
        // Kafka Streams normally stays in the group on close, so a restarted or replacement instance waits a whole
        // session timeout (45 s) before it gets the partitions. Leaving makes restarts and scale-downs prompt.
        props.put(StreamsConfig.consumerPrefix("internal.leave.group.on.close"), true);
        // An instance that dies without leaving holds its partitions until the session times out; heartbeats at a
        // third of it, as Kafka recommends.
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), (int) config.sessionTimeout().toMillis());
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), (int) Math.min(3000, config.sessionTimeout().toMillis() / 3));
        return props;
    }

    /** Stops the stream threads (committing what was processed), then the ops endpoints. */
    @Override
    public synchronized void close() {
        if (streams != null) {
            boolean closed = streams.close(CLOSE_TIMEOUT);
            if (!closed) {
                LOG.warn("Kafka Streams did not close within {}", CLOSE_TIMEOUT);
            }
            if (streamsMetrics != null) {
                streamsMetrics.close();
            }
        }
        if (opsServer != null) {
            opsServer.close();
            opsServer = null;
        }
        meterRegistry.close();
    }
}
