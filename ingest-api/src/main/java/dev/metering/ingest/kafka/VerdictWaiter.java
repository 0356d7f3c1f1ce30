package dev.metering.ingest.kafka;

import dev.metering.ingest.publish.VerdictSource;
import dev.metering.schemas.Topics;
import dev.metering.schemas.Verdict;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the aggregator's verdicts ({@code usage-verdicts}) and hands each to whoever waits for its event identity.
 *
 * <p>One consumer per ingest process, {@code read_committed} (a verdict is visible only once the aggregator's
 * transaction that decided it committed), without a consumer group: it is assigned every partition of the topic and
 * starts at their end, since only verdicts of events produced after {@link #await} was called matter. A verdict that
 * nobody waits for is skipped. Register with {@link #await} <em>before</em> producing the event, so the verdict cannot
 * pass unseen. If the topic does not exist yet (the aggregator creates it), the waiter keeps looking every second and
 * then reads the new topic from its start.
 */
public final class VerdictWaiter implements VerdictSource {
    private static final Logger LOG = LoggerFactory.getLogger(VerdictWaiter.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, CompletableFuture<Verdict>> waiting = new ConcurrentHashMap<>();
    private final Thread thread;
    private final CompletableFuture<Void> assigned = new CompletableFuture<>();
    private volatile boolean running = true;

    public VerdictWaiter(String bootstrapServers) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "ingest-api-verdicts-" + UUID.randomUUID());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // the aggregator creates it with its settings
        config.put(ConsumerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer());
        thread = new Thread(this::run, "ingest-verdicts");
        thread.setDaemon(true);
    }

    public VerdictWaiter start() {
        thread.start();
        return this;
    }

    /** Completes once the waiter reads every partition of the topic (for tests and readiness). */
    @Override
    public CompletableFuture<Void> reading() {
        return assigned;
    }

    /**
     * The verdict of the event with this identity key ({@link Verdict#key}), or a {@link TimeoutException} after
     * {@code timeout}. Waiters of the same key share the verdict (a retry of a revert gets the same one anyway).
     */
    @Override
    public CompletableFuture<Verdict> await(String key, Duration timeout) {
        CompletableFuture<Verdict> shared = waiting.computeIfAbsent(key, k -> new CompletableFuture<>());
        CompletableFuture<Verdict> mine = shared.copy().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
        mine.whenComplete((verdict, error) -> {
            if (error != null) {
                waiting.remove(key, shared); // nobody else will complete it; a later wait starts afresh
            }
        });
        return mine;
    }

    /** Identities waited for right now (a gauge). */
    @Override
    public int waiting() {
        return waiting.size();
    }

    private void run() {
        try {
            while (running) {
                if (consumer.assignment().isEmpty() && !assign()) {
                    Thread.sleep(1000);
                    continue;
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    CompletableFuture<Verdict> future = record.key() == null ? null : waiting.remove(record.key());
                    if (future == null) {
                        continue;
                    }
                    try {
                        future.complete(Verdict.fromJson(record.value()));
                    } catch (IllegalArgumentException e) {
                        LOG.warn("Unreadable verdict at {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), e.getMessage());
                        future.completeExceptionally(e);
                    }
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOG.error("The verdict reader stopped; reverts will answer 503 until the service restarts", e);
            }
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    /** Assigns every partition of the topic at its end (its start, when the topic was created after this process started). */
    private boolean assign() {
        List<PartitionInfo> partitions;
        try {
            partitions = consumer.partitionsFor(Topics.USAGE_VERDICTS, Duration.ofSeconds(5));
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            return false; // broker unreachable: the topic may well exist, so this is not a late creation
        }
        if (partitions == null || partitions.isEmpty()) {
            topicWasMissing = true;
            return false;
        }
        List<TopicPartition> all = partitions.stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList();
        consumer.assign(all);
        if (topicWasMissing) {
            consumer.seekToBeginning(all); // created after this process started: every verdict on it may be awaited
        } else {
            consumer.seekToEnd(all);
        }
        all.forEach(consumer::position); // resolve now, so a verdict written from here on is read
        assigned.complete(null);
        LOG.info("Reading verdicts from {} partitions of {}", all.size(), Topics.USAGE_VERDICTS);
        return true;
    }

    private boolean topicWasMissing;

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
