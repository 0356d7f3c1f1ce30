package dev.metering.aggregator;

import dev.metering.ops.Env;
import dev.metering.ops.TopicConfig;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.rules.EventRules;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything the aggregator reads from the environment. See {@code aggregator/README.md} for the variables.
 *
 * @param dedupeWindow   how long an event id is remembered per billing account (by arrival time)
 * @param gracePeriod    how long after its end a window still accepts events (by arrival time)
 * @param maxFutureSkew  how far an event time may lie beyond the record's arrival time
 * @param commitInterval Kafka Streams commit interval, i.e. how often a transaction is committed
 * @param emitInterval   how often the changed rollups are sent to usage-rollups (each changed hour once per interval)
 * @param sessionTimeout how long the group waits for an instance that died without leaving (crash, kill -9) before its
 *                       partitions move to another or restarted instance
 * @param rocksDbMemoryBytes one memory budget for all RocksDB stores of the JVM (block cache, index and filter blocks,
 *                       memtables); 0 keeps Kafka's per-store defaults, which have no overall limit
 */
public record AggregatorConfig(
        String bootstrapServers,
        String schemaRegistryUrl,
        String applicationId,
        Path stateDir,
        Duration dedupeWindow,
        Duration gracePeriod,
        Duration maxFutureSkew,
        Duration commitInterval,
        int streamThreads,
        long cacheMaxBytes,
        String httpHost,
        int httpPort,
        TopicSettings topics,
        Duration emitInterval,
        Duration sessionTimeout,
        long rocksDbMemoryBytes) {

    public static final String DEFAULT_APPLICATION_ID = "metering-aggregator";
    public static final Duration DEFAULT_DEDUPE_WINDOW = Duration.ofDays(35);
    public static final Duration DEFAULT_GRACE_PERIOD = EventRules.DEFAULT_GRACE_PERIOD;
    public static final Duration DEFAULT_MAX_FUTURE_SKEW = EventRules.DEFAULT_MAX_FUTURE_SKEW;
    public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofMillis(100);
    public static final Duration DEFAULT_EMIT_INTERVAL = Duration.ofMillis(100);
    public static final int DEFAULT_HTTP_PORT = 7401;
    /** Kafka's own default. */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(45);
    /** Kafka's per-store defaults (no overall bound). */
    public static final long DEFAULT_ROCKSDB_MEMORY_BYTES = 0;

    public AggregatorConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(schemaRegistryUrl, "schemaRegistryUrl");
        Objects.requireNonNull(applicationId, "applicationId");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(topics, "topics");
        requirePositive("dedupe window", dedupeWindow);
        requireNotNegative("grace period", gracePeriod);
        requireNotNegative("max future skew", maxFutureSkew);
        requirePositive("commit interval", commitInterval);
        requirePositive("emit interval", emitInterval);
        requirePositive("session timeout", sessionTimeout);
        if (streamThreads <= 0) {
            throw new IllegalArgumentException("stream threads must be > 0, got " + streamThreads);
        }
        if (cacheMaxBytes < 0) {
            throw new IllegalArgumentException("cache max bytes must be >= 0, got " + cacheMaxBytes);
        }
        if (rocksDbMemoryBytes < 0) {
            throw new IllegalArgumentException("RocksDB memory must be >= 0 bytes (0: Kafka's per-store defaults), got " + rocksDbMemoryBytes);
        }
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("HTTP port must be 0..65535, got " + httpPort);
        }
    }

    public static AggregatorConfig fromEnv(Env env) {
        return new AggregatorConfig(
                env.required("KAFKA_BOOTSTRAP_SERVERS"),
                env.required("SCHEMA_REGISTRY_URL"),
                env.string("AGGREGATOR_APPLICATION_ID", DEFAULT_APPLICATION_ID),
                Path.of(env.string("AGGREGATOR_STATE_DIR", Path.of(System.getProperty("java.io.tmpdir"), "metering-aggregator").toString())),
                env.duration("METERING_DEDUPE_WINDOW", DEFAULT_DEDUPE_WINDOW),
                env.duration(EventRules.GRACE_PERIOD_VARIABLE, DEFAULT_GRACE_PERIOD),
                env.duration(EventRules.MAX_FUTURE_SKEW_VARIABLE, DEFAULT_MAX_FUTURE_SKEW),
                env.duration("AGGREGATOR_COMMIT_INTERVAL", DEFAULT_COMMIT_INTERVAL),
                env.positiveInteger("AGGREGATOR_STREAM_THREADS", 1),
                env.longValue("AGGREGATOR_CACHE_MAX_BYTES", 10L * 1024 * 1024),
                env.string("AGGREGATOR_HTTP_HOST", "0.0.0.0"),
                env.integer("AGGREGATOR_HTTP_PORT", DEFAULT_HTTP_PORT),
                TopicConfig.fromEnv(env),
                env.duration("AGGREGATOR_EMIT_INTERVAL", DEFAULT_EMIT_INTERVAL),
                env.duration("AGGREGATOR_SESSION_TIMEOUT", DEFAULT_SESSION_TIMEOUT),
                env.longValue("AGGREGATOR_ROCKSDB_MEMORY_BYTES", DEFAULT_ROCKSDB_MEMORY_BYTES));
    }

    /** The configuration with Kafka's per-store RocksDB memory defaults. */
    public AggregatorConfig(String bootstrapServers, String schemaRegistryUrl, String applicationId, Path stateDir, Duration dedupeWindow,
                            Duration gracePeriod, Duration maxFutureSkew, Duration commitInterval, int streamThreads, long cacheMaxBytes,
                            String httpHost, int httpPort, TopicSettings topics, Duration emitInterval, Duration sessionTimeout) {
        this(bootstrapServers, schemaRegistryUrl, applicationId, stateDir, dedupeWindow, gracePeriod, maxFutureSkew, commitInterval,
                streamThreads, cacheMaxBytes, httpHost, httpPort, topics, emitInterval, sessionTimeout, DEFAULT_ROCKSDB_MEMORY_BYTES);
    }

    /** The configuration with the emit interval equal to the commit interval and Kafka's session timeout. */
    public AggregatorConfig(String bootstrapServers, String schemaRegistryUrl, String applicationId, Path stateDir, Duration dedupeWindow,
                            Duration gracePeriod, Duration maxFutureSkew, Duration commitInterval, int streamThreads, long cacheMaxBytes,
                            String httpHost, int httpPort, TopicSettings topics) {
        this(bootstrapServers, schemaRegistryUrl, applicationId, stateDir, dedupeWindow, gracePeriod, maxFutureSkew, commitInterval,
                streamThreads, cacheMaxBytes, httpHost, httpPort, topics, commitInterval, DEFAULT_SESSION_TIMEOUT, DEFAULT_ROCKSDB_MEMORY_BYTES);
    }

    /** The shared event rules (schemas), with this configuration's grace period and future skew. */
    public EventRules rules() {
        return new EventRules(gracePeriod, maxFutureSkew);
    }

    private static void requirePositive(String what, Duration value) {
        Objects.requireNonNull(value, what);
        if (value.isZero() || value.isNegative()) {
            throw new IllegalArgumentException(what + " must be > 0, got " + value);
        }
    }

    private static void requireNotNegative(String what, Duration value) {
        Objects.requireNonNull(value, what);
        if (value.isNegative()) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + value);
        }
    }
}
