package dev.metering.sink;

import dev.metering.ops.DatabaseTarget;
import dev.metering.ops.Env;
import dev.metering.ops.TopicConfig;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.Topics;
import java.time.Duration;
import java.util.Objects;

/**
 * Configuration of the sink, read from environment variables (see sink/README.md).
 *
 * @param jdbcUrl          a {@code jdbc:postgresql://} URL ({@code DATABASE_URL} may also be {@code postgres://user:pass@host:port/db})
 * @param databaseUser     null to take the user from the URL (or the driver's default)
 * @param databasePassword null to take the password from the URL (or none)
 * @param createTopics     create the pipeline's topics if missing (and verify their settings)
 * @param sessionTimeout   how long the group waits for an instance that died without leaving (crash, kill -9) before
 *                         its partitions move to another or restarted instance
 * @param periodRefresh    how often the day and month tables are brought up to date with the hours
 * @param databaseSocketTimeout      how long a statement may wait for the server's answer before the connection is
 *                                   counted as broken (a dead server must surface as an error, never as a thread
 *                                   blocked on a socket forever)
 * @param databaseMaintenanceTimeout the same for the statements that may rightly run long: migrations at start, the
 *                                   rewrite of a closed month and the VACUUM after it. Under the socket timeout, a
 *                                   migration or a month larger than it allows would fail and be retried forever
 */
public record SinkConfig(
        String kafkaBootstrapServers,
        String schemaRegistryUrl,
        String jdbcUrl,
        String databaseUser,
        String databasePassword,
        String groupId,
        String topic,
        int batchSize,
        Duration pollTimeout,
        String httpHost,
        int httpPort,
        Duration initialBackoff,
        Duration maxBackoff,
        Duration databaseConnectTimeout,
        Duration databaseCheckInterval,
        int databaseStartupRetries,
        int databasePoolSize,
        boolean createTopics,
        TopicSettings topicSettings,
        Duration shutdownTimeout,
        Duration sessionTimeout,
        PeriodRefresh periodRefresh,
        Duration databaseSocketTimeout,
        Duration databaseMaintenanceTimeout) {

    /**
     * The background refresh of {@code usage_daily_rollups} and {@code usage_monthly_rollups} (migration V9). The
     * views are exact whatever these are; they decide how many days the views fold from hours on read.
     *
     * @param interval  how long a changed day waits before it is re-folded: a day that keeps changing is re-folded
     *                  about once per interval
     * @param batchDays days re-folded per transaction, one transaction a second at most (the sink's writes to those
     *                  days wait for it)
     * @param monthOrderInterval how often closed months are looked for and their rows rewritten in account order
     *                  (migration V11), so that their bill lines read the table in order
     * @param gracePeriod the aggregator's grace period: a month is closed an hour after its end plus this
     */
    public record PeriodRefresh(Duration interval, int batchDays, Duration monthOrderInterval, Duration gracePeriod) {
        /** Room for the month's last rollups to reach the table after its grace period ended. */
        static final Duration CLOSING_MARGIN = Duration.ofHours(1);
        static final Duration DEFAULT_MONTH_ORDER_INTERVAL = Duration.ofHours(1);

        public PeriodRefresh {
            requirePositive(interval, "period refresh interval");
            if (batchDays < 1) {
                throw new IllegalArgumentException("period refresh batch must be > 0, got " + batchDays);
            }
            requirePositive(monthOrderInterval, "month order interval");
            Objects.requireNonNull(gracePeriod, "gracePeriod");
            if (gracePeriod.isNegative()) {
                throw new IllegalArgumentException("grace period must not be negative, got " + gracePeriod);
            }
        }

        public PeriodRefresh(Duration interval, int batchDays) {
            this(interval, batchDays, DEFAULT_MONTH_ORDER_INTERVAL, EventRules.DEFAULT_GRACE_PERIOD);
        }

        /** How long after its end a month can no longer change. */
        public Duration monthClosedAfter() {
            return gracePeriod.plus(CLOSING_MARGIN);
        }
    }

    public static final String DEFAULT_GROUP_ID = "metering-sink";
    public static final int DEFAULT_HTTP_PORT = 7402;

    public SinkConfig {
        Objects.requireNonNull(kafkaBootstrapServers, "kafkaBootstrapServers");
        Objects.requireNonNull(schemaRegistryUrl, "schemaRegistryUrl");
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        Objects.requireNonNull(groupId, "groupId");
        Objects.requireNonNull(topic, "topic");
        Objects.requireNonNull(topicSettings, "topicSettings");
        Objects.requireNonNull(periodRefresh, "periodRefresh");
        if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("jdbcUrl must be a jdbc:postgresql: URL, got " + DatabaseTarget.redact(jdbcUrl));
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be > 0, got " + batchSize);
        }
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("HTTP port must be 0..65535, got " + httpPort);
        }
        requirePositive(pollTimeout, "poll timeout");
        requirePositive(initialBackoff, "initial backoff");
        requirePositive(maxBackoff, "max backoff");
        requirePositive(databaseConnectTimeout, "database connect timeout");
        requirePositive(databaseCheckInterval, "database check interval");
        requirePositive(shutdownTimeout, "shutdown timeout");
        requirePositive(sessionTimeout, "session timeout");
        // pgjdbc counts its socket timeout in whole seconds (0 would mean none)
        if (databaseSocketTimeout == null || databaseSocketTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("database socket timeout must be at least 1s, got " + databaseSocketTimeout);
        }
        if (databaseMaintenanceTimeout == null || databaseMaintenanceTimeout.compareTo(databaseSocketTimeout) < 0) {
            throw new IllegalArgumentException("database maintenance timeout " + databaseMaintenanceTimeout
                    + " is shorter than the socket timeout " + databaseSocketTimeout);
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("max backoff " + maxBackoff + " is shorter than the initial backoff " + initialBackoff);
        }
        if (databaseConnectTimeout.toMillis() < 250) {
            throw new IllegalArgumentException("database connect timeout must be at least 250ms, got " + databaseConnectTimeout);
        }
        if (databasePoolSize < 1) {
            throw new IllegalArgumentException("database pool size must be > 0, got " + databasePoolSize);
        }
        if (databaseStartupRetries < 0) {
            throw new IllegalArgumentException("database startup retries must be >= 0, got " + databaseStartupRetries);
        }
    }

    /** Reads the variables documented in sink/README.md. */
    public static SinkConfig fromEnv(Env env) {
        DatabaseTarget database = DatabaseTarget.parse(env.required("DATABASE_URL"), "DATABASE_URL");
        return new SinkConfig(
                env.required("KAFKA_BOOTSTRAP_SERVERS"),
                env.required("SCHEMA_REGISTRY_URL"),
                database.url(),
                env.string("DATABASE_USER", database.user()),
                env.string("DATABASE_PASSWORD", database.password()),
                env.string("SINK_GROUP_ID", DEFAULT_GROUP_ID),
                env.string("SINK_TOPIC", Topics.USAGE_ROLLUPS),
                env.positiveInteger("SINK_BATCH_SIZE", 500),
                env.duration("SINK_POLL_TIMEOUT", Duration.ofMillis(500)),
                env.string("SINK_HTTP_HOST", "0.0.0.0"),
                env.integer("SINK_HTTP_PORT", DEFAULT_HTTP_PORT),
                env.duration("SINK_INITIAL_BACKOFF", Duration.ofMillis(200)),
                env.duration("SINK_MAX_BACKOFF", Duration.ofSeconds(30)),
                env.duration("SINK_DB_CONNECT_TIMEOUT", Duration.ofSeconds(5)),
                env.duration("SINK_DB_CHECK_INTERVAL", Duration.ofSeconds(5)),
                env.integer("SINK_DB_STARTUP_RETRIES", 10),
                env.positiveInteger("SINK_DB_POOL_SIZE", 3),
                env.bool("SINK_CREATE_TOPICS", true),
                // The same variables as the other services, so whichever service creates a topic first creates it alike.
                TopicConfig.fromEnv(env),
                env.duration("SINK_SHUTDOWN_TIMEOUT", Duration.ofSeconds(30)),
                env.duration("SINK_SESSION_TIMEOUT", Duration.ofSeconds(45)),
                new PeriodRefresh(env.duration("SINK_PERIOD_REFRESH_INTERVAL", Duration.ofMinutes(5)),
                        env.positiveInteger("SINK_PERIOD_REFRESH_BATCH", 1000),
                        env.duration("SINK_MONTH_ORDER_INTERVAL", PeriodRefresh.DEFAULT_MONTH_ORDER_INTERVAL),
                        // The aggregator's variable: the sink only needs to know when a month can no longer change.
                        env.duration(EventRules.GRACE_PERIOD_VARIABLE, EventRules.DEFAULT_GRACE_PERIOD)),
                env.duration("SINK_DB_SOCKET_TIMEOUT", Duration.ofSeconds(120)),
                env.duration("SINK_DB_MAINTENANCE_TIMEOUT", Duration.ofHours(6)));
    }

    /**
     * The defaults of {@link #fromEnv} for the given infrastructure, for in-process use (the standalone
     * launcher): no environment needed; the JDBC URL may carry the credentials ({@code ?user=..&password=..})
     * or they are passed here (null: from the URL).
     */
    public static SinkConfig defaults(String kafkaBootstrapServers, String schemaRegistryUrl, String jdbcUrl,
                                      String databaseUser, String databasePassword) {
        java.util.Map<String, String> variables = new java.util.HashMap<>();
        variables.put("KAFKA_BOOTSTRAP_SERVERS", kafkaBootstrapServers);
        variables.put("SCHEMA_REGISTRY_URL", schemaRegistryUrl);
        variables.put("DATABASE_URL", jdbcUrl);
        if (databaseUser != null) {
            variables.put("DATABASE_USER", databaseUser);
        }
        if (databasePassword != null) {
            variables.put("DATABASE_PASSWORD", databasePassword);
        }
        return fromEnv(new Env(variables));
    }

    public SinkConfig withHttpPort(int port) {
        return new SinkConfig(kafkaBootstrapServers, schemaRegistryUrl, jdbcUrl, databaseUser, databasePassword, groupId, topic,
                batchSize, pollTimeout, httpHost, port, initialBackoff, maxBackoff, databaseConnectTimeout, databaseCheckInterval,
                databaseStartupRetries, databasePoolSize, createTopics, topicSettings, shutdownTimeout, sessionTimeout, periodRefresh,
                databaseSocketTimeout, databaseMaintenanceTimeout);
    }

    public SinkConfig withTopicSettings(TopicSettings settings) {
        return new SinkConfig(kafkaBootstrapServers, schemaRegistryUrl, jdbcUrl, databaseUser, databasePassword, groupId, topic,
                batchSize, pollTimeout, httpHost, httpPort, initialBackoff, maxBackoff, databaseConnectTimeout, databaseCheckInterval,
                databaseStartupRetries, databasePoolSize, createTopics, settings, shutdownTimeout, sessionTimeout, periodRefresh,
                databaseSocketTimeout, databaseMaintenanceTimeout);
    }

    @Override
    public String toString() {
        // Never log the password.
        return "SinkConfig[kafka=" + kafkaBootstrapServers + ", registry=" + schemaRegistryUrl + ", database=" + DatabaseTarget.redact(jdbcUrl)
                + ", user=" + databaseUser + ", group=" + groupId + ", topic=" + topic + ", batchSize=" + batchSize
                + ", httpPort=" + httpPort + ", maxBackoff=" + maxBackoff + "]";
    }

    private static void requirePositive(Duration duration, String what) {
        if (duration == null || duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException(what + " must be > 0, got " + duration);
        }
    }
}
