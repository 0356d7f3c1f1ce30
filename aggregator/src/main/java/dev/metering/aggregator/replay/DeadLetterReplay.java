package dev.metering.aggregator.replay;

import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends dead letters of the given reasons from {@code usage-events-dlq} back to {@code usage-events}, as they were
 * produced: the original key, value and headers, without the dead-letter headers. The aggregator then decides about
 * each again. Replaying twice is safe: an event it accepted is dropped as a duplicate when it comes again (within the
 * dedupe window). A replayed event arrives now, so one whose hour closed more than the grace period ago is LATE.
 *
 * <p>Reads the committed records of every partition of the DLQ up to their ends at start, so that it finishes even
 * while the aggregator writes new dead letters.
 */
public final class DeadLetterReplay {
    private static final Duration SEND_TIMEOUT = Duration.ofMinutes(2);
    private final String bootstrapServers;

    public DeadLetterReplay(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    /**
     * What a replay did.
     *
     * @param read     dead letters read
     * @param matched  those with one of the reasons
     * @param replayed those sent back to usage-events and acknowledged (0 in a dry run)
     */
    public record Result(long read, long matched, long replayed) {
    }

    /** @throws ReplayFailedException when the broker did not acknowledge every record sent back (run it again) */
    public Result replay(Set<Reason> reasons, boolean dryRun) {
        Set<String> reasonNames = reasons.stream().map(Reason::name).collect(Collectors.toSet());
        long read = 0;
        long matched = 0;
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties(), new ByteArraySerializer(), new ByteArraySerializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.USAGE_EVENTS_DLQ).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(partition -> consumer.position(partition) < ends.get(partition))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.offset() >= ends.get(new TopicPartition(record.topic(), record.partition()))) {
                        continue; // written after the start
                    }
                    read++;
                    if (!reasonNames.contains(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER))) {
                        continue;
                    }
                    matched++;
                    if (!dryRun) {
                        sent.add(producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, null, null, record.key(), record.value(),
                                withoutDeadLetterHeaders(record))));
                    }
                }
            }
            producer.flush();
        }
        return new Result(read, matched, acknowledged(sent));
    }

    private static long acknowledged(List<Future<RecordMetadata>> sent) {
        long acknowledged = 0;
        Exception firstFailure = null;
        for (Future<RecordMetadata> send : sent) {
            try {
                send.get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                acknowledged++;
            } catch (ExecutionException | TimeoutException e) {
                firstFailure = firstFailure == null ? e : firstFailure;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ReplayFailedException(acknowledged, sent.size(), e);
            }
        }
        if (firstFailure != null) {
            throw new ReplayFailedException(acknowledged, sent.size(), firstFailure);
        }
        return acknowledged;
    }

    private static RecordHeaders withoutDeadLetterHeaders(ConsumerRecord<byte[], byte[]> record) {
        Set<String> deadLetterHeaders = Set.of(DeadLetter.REASON_HEADER, DeadLetter.DETAIL_HEADER, DeadLetter.SOURCE_HEADER);
        RecordHeaders headers = new RecordHeaders();
        for (Header header : record.headers()) {
            if (!deadLetterHeaders.contains(header.key())) {
                headers.add(header);
            }
        }
        return headers;
    }

    private Map<String, Object> consumerProperties() {
        Map<String, Object> properties = new HashMap<>();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        // Only what the aggregator committed: an aborted transaction's dead letters were decided again.
        properties.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return properties;
    }

    private Map<String, Object> producerProperties() {
        Map<String, Object> properties = new HashMap<>();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        return properties;
    }

    /** Some records were not acknowledged; running the replay again is safe. */
    public static final class ReplayFailedException extends RuntimeException {
        ReplayFailedException(long acknowledged, int sent, Throwable cause) {
            super((sent - acknowledged) + " of " + sent + " records were not acknowledged by the broker (" + cause.getMessage()
                    + "); run the replay again: records the aggregator already accepted are dropped as duplicates", cause);
        }
    }
}
