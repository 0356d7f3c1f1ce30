package dev.metering.schemas;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the pipeline's topics, or verifies the ones that exist, with the settings the guarantees
 * depend on. Every service calls it at start; it is idempotent.
 *
 * <ul>
 *   <li>{@code usage-events}: {@code message.timestamp.type=LogAppendTime}, so retention counts from
 *       arrival and a backdated event is never deleted before it is aggregated.</li>
 *   <li>{@code usage-rollups}: compacted; the latest value per key is the whole rollup.</li>
 *   <li>{@code usage-events-dlq}: kept for {@link TopicSettings#dlqRetention()}.</li>
 *   <li>{@code usage-verdicts}: kept for {@link #VERDICTS_RETENTION}.</li>
 * </ul>
 */
public final class TopicSetup {
    private TopicSetup() {
    }

    public record TopicSettings(int partitions, short replicationFactor, Duration eventsRetention, Duration dlqRetention) {
        public static final TopicSettings DEFAULTS = new TopicSettings(6, (short) 1, Duration.ofDays(7), Duration.ofDays(30));

        public TopicSettings {
            if (partitions <= 0) {
                throw new IllegalArgumentException("topic partitions must be > 0, got " + partitions);
            }
            if (replicationFactor <= 0) {
                throw new IllegalArgumentException("topic replication factor must be > 0, got " + replicationFactor);
            }
        }
    }

    /** How long verdicts are kept: a waiting API reads them within seconds; an hour leaves room for debugging. */
    public static final Duration VERDICTS_RETENTION = Duration.ofHours(1);

    /** The four topics with their configuration. */
    public static List<NewTopic> definitions(TopicSettings settings) {
        return List.of(
                new NewTopic(Topics.USAGE_EVENTS, settings.partitions(), settings.replicationFactor()).configs(Map.of(
                        TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, "LogAppendTime",
                        TopicConfig.RETENTION_MS_CONFIG, String.valueOf(settings.eventsRetention().toMillis()))),
                new NewTopic(Topics.USAGE_ROLLUPS, settings.partitions(), settings.replicationFactor()).configs(Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new NewTopic(Topics.USAGE_EVENTS_DLQ, settings.partitions(), settings.replicationFactor()).configs(Map.of(
                        TopicConfig.RETENTION_MS_CONFIG, String.valueOf(settings.dlqRetention().toMillis()))),
                new NewTopic(Topics.USAGE_VERDICTS, settings.partitions(), settings.replicationFactor()).configs(Map.of(
                        TopicConfig.RETENTION_MS_CONFIG, String.valueOf(VERDICTS_RETENTION.toMillis()))));
    }

    /**
     * Creates the missing topics and checks that existing ones have the settings the pipeline relies on.
     *
     * @throws IllegalStateException naming the topic and setting that is wrong
     */
    public static void ensureTopics(Admin admin, TopicSettings settings) {
        List<NewTopic> definitions = definitions(settings);
        try {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            for (NewTopic topic : definitions) {
                if (!existing.contains(topic.name())) {
                    missing.add(topic);
                }
            }
            if (!missing.isEmpty()) {
                try {
                    admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e; // another instance creating them at the same time is fine
                    }
                }
            }
            verifyOnceKnown(admin, definitions);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("Could not create or verify the topics: " + cause.getMessage(), cause);
        }
    }

    /** A topic just created may not be known to every part of the broker yet: verifying it waits for that, briefly. */
    private static void verifyOnceKnown(Admin admin, List<NewTopic> definitions) throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                verify(admin, definitions);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private static void verify(Admin admin, List<NewTopic> definitions) throws InterruptedException, ExecutionException, TimeoutException {
        List<ConfigResource> resources = definitions.stream()
                .map(topic -> new ConfigResource(ConfigResource.Type.TOPIC, topic.name()))
                .toList();
        Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get(30, TimeUnit.SECONDS);
        Map<String, TopicDescription> descriptions = admin.describeTopics(definitions.stream().map(NewTopic::name).toList())
                .allTopicNames().get(30, TimeUnit.SECONDS);
        for (NewTopic topic : definitions) {
            if (descriptions.get(topic.name()) == null) {
                throw new IllegalStateException("Topic " + topic.name() + " does not exist");
            }
            Config actual = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, topic.name()));
            for (String required : List.of(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, TopicConfig.CLEANUP_POLICY_CONFIG)) {
                String expected = topic.configs().get(required);
                if (expected == null) {
                    continue;
                }
                String value = actual.get(required) == null ? null : actual.get(required).value();
                if (!expected.equals(value)) {
                    throw new IllegalStateException("Topic " + topic.name() + " has " + required + "=" + value
                            + " but the pipeline needs " + expected + "; fix it with kafka-configs --alter");
                }
            }
        }
    }
}
