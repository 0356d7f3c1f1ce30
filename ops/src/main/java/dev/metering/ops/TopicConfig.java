package dev.metering.ops;

import dev.metering.schemas.TopicSetup.TopicSettings;

/**
 * The one place the pipeline's topic settings are read from the environment (every service that may create the
 * topics reads the same variables): {@code METERING_TOPIC_PARTITIONS}, {@code METERING_TOPIC_REPLICATION},
 * {@code METERING_EVENTS_RETENTION}, {@code METERING_DLQ_RETENTION}.
 */
public final class TopicConfig {
    private TopicConfig() {
    }

    public static TopicSettings fromEnv(Env env) {
        TopicSettings defaults = TopicSettings.DEFAULTS;
        int replication = env.positiveInteger("METERING_TOPIC_REPLICATION", defaults.replicationFactor());
        if (replication > Short.MAX_VALUE) {
            throw new IllegalArgumentException("METERING_TOPIC_REPLICATION=" + replication + " is too large");
        }
        return new TopicSettings(env.positiveInteger("METERING_TOPIC_PARTITIONS", defaults.partitions()), (short) replication,
                env.duration("METERING_EVENTS_RETENTION", defaults.eventsRetention()),
                env.duration("METERING_DLQ_RETENTION", defaults.dlqRetention()));
    }
}
