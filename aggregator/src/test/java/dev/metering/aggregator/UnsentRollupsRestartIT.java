package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.aggregator.topology.AggregatorTopology;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Bytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hours changed and committed but not yet sent to {@code usage-rollups} when an aggregator stops are sent by the next
 * one, even on an empty state directory: the hours' state comes back from the rollup store's changelog with the change
 * numbers of their writes, and the number the last emit reached from the changelog of {@code unemitted-rollups}.
 */
class UnsentRollupsRestartIT {
    private static final int EVENTS = 2_000;
    private static final String APPLICATION_ID = "unsent-rollups-restart-it";

    @TempDir
    Path firstStateDir;
    @TempDir
    Path secondStateDir;

    @Test
    void hoursCommittedButNotYetSentAreSentByTheNextInstance() throws Exception {
        stopWithoutSendingThenRestart(11L, support -> {
        });
    }

    /**
     * An upgrade from the version that kept one mark per unsent hour in {@code unemitted-rollups} (and hour states
     * without change numbers): the hours it marked are sent by this version. The test writes what that version left
     * behind into the changelogs, from what this version's first instance stored: the same states in the older format
     * (version 2: no change number), and a mark per hour.
     */
    @Test
    void hoursTheVersionBeforeMarkedUnsentAreSentAfterAnUpgrade() throws Exception {
        stopWithoutSendingThenRestart(12L, support -> assertThat(rewriteAsTheVersionBefore(support)).as("hours marked unsent").isGreaterThan(100));
    }

    /**
     * A first instance processes {@link #EVENTS} random events and stops before its first emit; {@code between} runs;
     * then a second instance on an empty state directory must send every rollup exactly, without reading any event again.
     */
    private void stopWithoutSendingThenRestart(long seed, Consumer<KafkaTestSupport> between) throws Exception {
        String registryUrl = "mem://unsent-rollups-restart-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        RandomEvents generator = new RandomEvents(seed, Instant.now(), 5, "evt-");
        List<UsageEvent> events = new ArrayList<>();
        for (int i = 0; i < EVENTS; i++) {
            events.add(generator.next(i));
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            KafkaTestSupport support = new KafkaTestSupport(kafka.bootstrapServers());
            // An emit interval far longer than the test: this instance commits its changes but never sends them.
            try (AggregatorService first = new AggregatorService(config(kafka, registryUrl, firstStateDir, Duration.ofHours(1)))) {
                first.start();
                support.awaitReady(first);
                support.produce(registry, events, 0);
                KafkaTestSupport.poll(() -> first.metrics().readCount() >= EVENTS, "the first instance to process every event");
                assertThat(first.metrics().emittedCount()).isZero();
            } // a clean close commits what was processed
            between.accept(support);

            try (AggregatorService second = new AggregatorService(config(kafka, registryUrl, secondStateDir, Duration.ofMillis(200)))) {
                second.start();
                support.awaitReady(second);
                Map<RollupKey, Expected> expected = Expected.recompute(events);
                assertThat(Expected.differences(expected, support.readRollupsUntil(registry, expected))).isEmpty();
                assertThat(second.metrics().readCount()).as("nothing was read again").isZero();
            }
        }
    }

    /**
     * Rewrites every hour of the rollup store's changelog in the state format of the version before and marks it unsent
     * in the changelog of {@code unemitted-rollups}, as that version did ({@code hourStart:series}); returns the marks.
     * A window store's changelog key is the store key, then the window start (8 bytes), then a sequence number (4).
     */
    private static int rewriteAsTheVersionBefore(KafkaTestSupport support) {
        String rollupChangelog = APPLICATION_ID + "-" + AggregatorTopology.ROLLUP_STORE + "-changelog";
        String unemittedChangelog = APPLICATION_ID + "-" + AggregatorTopology.UNEMITTED_STORE + "-changelog";
        Map<TopicPartition, Map<Bytes, byte[]>> latest = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(support.readCommittedConsumer("changelog-reader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(rollupChangelog).stream()
                    .map(info -> new TopicPartition(rollupChangelog, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(partition -> consumer.position(partition) < end.get(partition))) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    latest.computeIfAbsent(new TopicPartition(record.topic(), record.partition()), p -> new HashMap<>())
                            .put(Bytes.wrap(record.key()), record.value());
                }
            }
        }
        int marks = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(support.producerProps(), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (var partition : latest.entrySet()) {
                for (var hour : partition.getValue().entrySet()) {
                    byte[] key = hour.getKey().get();
                    byte[] state = hour.getValue();
                    assertThat(state[0]).as("this version's state format").isEqualTo((byte) 3);
                    byte[] versionTwo = state.clone(); // version 2 had eight zero bytes where the change number is
                    Arrays.fill(versionTwo, state.length - Long.BYTES, state.length, (byte) 0);
                    versionTwo[0] = 2;
                    producer.send(new ProducerRecord<>(rollupChangelog, partition.getKey().partition(), key, versionTwo));
                    String series = new String(key, 0, key.length - 12, StandardCharsets.UTF_8);
                    long hourStart = ByteBuffer.wrap(key, key.length - 12, 8).getLong();
                    producer.send(new ProducerRecord<>(unemittedChangelog, partition.getKey().partition(),
                            (hourStart + ":" + series).getBytes(StandardCharsets.UTF_8), new byte[0]));
                    marks++;
                }
            }
            producer.flush();
        }
        return marks;
    }

    private static AggregatorConfig config(EmbeddedKafka kafka, String registryUrl, Path stateDir, Duration emitInterval) {
        return new AggregatorConfig(kafka.bootstrapServers(), registryUrl, APPLICATION_ID, stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30)), emitInterval,
                AggregatorConfig.DEFAULT_SESSION_TIMEOUT);
    }
}
