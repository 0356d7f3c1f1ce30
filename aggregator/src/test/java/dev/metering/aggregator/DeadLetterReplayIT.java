package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.replay.DeadLetterReplay;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator replays the dead letters of one reason (PROCESSING_FAILED, once the aggregator is fixed) to usage-events:
 * the running aggregator counts them once, however often they are replayed, and the other dead letters stay where
 * they are.
 */
class DeadLetterReplayIT {
    @TempDir
    Path stateDir;

    @Test
    void replayedDeadLettersAreCountedOnceAndTheOthersStay() throws Exception {
        String registryUrl = "mem://dead-letter-replay-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        UsageEvent failed = event("e-1", "5", now);
        UsageEvent late = event("e-2", "7", now);

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            AggregatorConfig config = new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "dead-letter-replay-it", stateDir,
                    Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 0,
                    "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30)));
            try (AggregatorService service = new AggregatorService(config)) {
                service.start();
                support.awaitReady(service);
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(support.producerProps(), new ByteArraySerializer(),
                        new ByteArraySerializer())) {
                    producer.send(deadLetter(failed, serializer, Reason.PROCESSING_FAILED)).get();
                    producer.send(deadLetter(late, serializer, Reason.LATE)).get();
                }
                DeadLetterReplay replay = new DeadLetterReplay(kafka.bootstrapServers());

                assertThat(replay.replay(EnumSet.of(Reason.PROCESSING_FAILED), true)).as("dry run")
                        .isEqualTo(new DeadLetterReplay.Result(2, 1, 0));
                assertThat(replay.replay(EnumSet.of(Reason.PROCESSING_FAILED), false)).isEqualTo(new DeadLetterReplay.Result(2, 1, 1));

                Map<RollupKey, Expected> expected = Expected.recompute(List.of(failed));
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();
                List<ConsumerRecord<byte[], byte[]>> replayed = support.recordsToEnd(Topics.USAGE_EVENTS);
                assertThat(replayed).singleElement().satisfies(record -> {
                    assertThat(record.value()).isEqualTo(serializer.serialize(Topics.USAGE_EVENTS, failed));
                    assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("acct-1");
                    assertThat(headerKeys(record)).as("the producer's headers, not the dead letter's").containsExactly("trace-id");
                });

                // Replayed again: dropped as a duplicate, still counted once.
                assertThat(replay.replay(EnumSet.of(Reason.PROCESSING_FAILED), false)).isEqualTo(new DeadLetterReplay.Result(2, 1, 1));
                KafkaTestSupport.poll(() -> service.metrics().duplicateCount() == 1, "the second replay dropped as a duplicate");
                assertThat(service.metrics().acceptedCount()).isEqualTo(1);
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();
            }
        }
    }

    private static UsageEvent event(String id, String quantity, Instant time) {
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setBillingAccountId("acct-1")
                .setFeatureCode("api-calls")
                .setQuantity(new BigDecimal(quantity).setScale(12))
                .setValueType(ValueType.DELTA)
                .setEventTime(time)
                .setReceivedAt(time)
                .build();
    }

    /** As the aggregator dead-letters a record: its key, value and headers, plus the dead-letter headers. */
    private static ProducerRecord<byte[], byte[]> deadLetter(UsageEvent event, AvroSerializer<UsageEvent> serializer, Reason reason) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("trace-id", event.getEventId().getBytes(StandardCharsets.UTF_8));
        DeadLetter.addHeaders(headers, reason, "for the test", "usage-events-0@0");
        return new ProducerRecord<>(Topics.USAGE_EVENTS_DLQ, null, event.getBillingAccountId().getBytes(StandardCharsets.UTF_8),
                serializer.serialize(Topics.USAGE_EVENTS, event), headers);
    }

    private static Set<String> headerKeys(ConsumerRecord<byte[], byte[]> record) {
        Set<String> keys = new java.util.LinkedHashSet<>();
        for (Header header : record.headers()) {
            keys.add(header.key());
        }
        return keys;
    }
}
