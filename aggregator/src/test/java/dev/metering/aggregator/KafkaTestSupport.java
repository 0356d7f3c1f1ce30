package dev.metering.aggregator;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Producing events and reading rollups and dead letters (read_committed) on a real broker, with generous timeouts. */
final class KafkaTestSupport {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaTestSupport.class);
    static final Duration TIMEOUT = Duration.ofMinutes(3);
    private final String bootstrapServers;
    /** When {@link #readRollupsUntil} last saw every expected count reached (before its quiet-period reads). */
    long convergedAtNanos;

    KafkaTestSupport(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    /**
     * Sends the events keyed by account, with {@code undecodable} garbage records spread among them. Records whose send
     * fails are sent again by a new producer, as a client retries: around a broker restart an idempotent producer was
     * seen to fail its sends with OUT_OF_ORDER_SEQUENCE_NUMBER until they timed out, which had silently dropped them
     * from the test's input. A resent record may have been written already; the aggregator counts it once.
     */
    void produce(SchemaRegistryClient registry, List<UsageEvent> events, int undecodable) {
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        int garbageEvery = undecodable == 0 ? Integer.MAX_VALUE : Math.max(1, events.size() / undecodable);
        int garbage = 0;
        for (int i = 0; i < events.size(); i++) {
            UsageEvent event = events.get(i);
            byte[] key = event.getBillingAccountId().getBytes(StandardCharsets.UTF_8);
            records.add(new ProducerRecord<>(Topics.USAGE_EVENTS, key, serializer.serialize(Topics.USAGE_EVENTS, event)));
            if (garbage < undecodable && i % garbageEvery == 0) {
                records.add(new ProducerRecord<>(Topics.USAGE_EVENTS, key, ("not avro " + i).getBytes(StandardCharsets.UTF_8)));
                garbage++;
            }
        }
        Exception lastFailure = null;
        for (int attempt = 1; attempt <= 3 && !records.isEmpty(); attempt++) {
            List<ProducerRecord<byte[], byte[]>> failed = Collections.synchronizedList(new ArrayList<>());
            AtomicReference<Exception> failure = new AtomicReference<>();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
                for (ProducerRecord<byte[], byte[]> record : records) {
                    producer.send(record, (metadata, exception) -> {
                        if (exception != null) {
                            failed.add(record);
                            failure.set(exception);
                        }
                    });
                }
                producer.flush();
            }
            if (!failed.isEmpty()) {
                lastFailure = failure.get();
                LOG.warn("{} of {} records failed to send (attempt {}), sending them again: {}", failed.size(), records.size(), attempt,
                        lastFailure.toString());
            }
            records = new ArrayList<>(failed);
        }
        if (!records.isEmpty()) {
            throw new AssertionError(records.size() + " records could not be sent to " + Topics.USAGE_EVENTS, lastFailure);
        }
    }

    /**
     * Every decodable event on {@code usage-events}, each partition in its log order. The aggregator accepts events in
     * this order, which is not always the order they were sent in: a record resent after a failed send (see
     * {@link #produce}) lands after records sent later, and billable quantities depend on that order.
     */
    List<UsageEvent> eventsInLogOrder(SchemaRegistryClient registry) {
        AvroDeserializer<UsageEvent> deserializer = new AvroDeserializer<>(UsageEvent.class, registry);
        List<UsageEvent> events = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : recordsToEnd(Topics.USAGE_EVENTS)) {
            try {
                events.add(deserializer.deserialize(record.topic(), record.value()));
            } catch (RuntimeException undecodable) {
                // the garbage records produce() adds on request; the aggregator dead-letters them
            }
        }
        return events;
    }

    /** Every committed record of the topic, each partition in its log order, up to the partitions' ends when called. */
    List<ConsumerRecord<byte[], byte[]>> recordsToEnd(String topic) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(readCommittedConsumer("records-reader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            poll(() -> {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
                return partitions.stream().allMatch(partition -> consumer.position(partition) >= end.get(partition));
            }, "the whole of " + topic);
        }
        return records;
    }

    /** Idempotent, acks=all; a send gives up after 30 s (Kafka's default is 2 min) so that a failed send is retried soon. */
    Map<String, Object> producerProps() {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        return props;
    }

    Map<String, Object> readCommittedConsumer(String group) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group + "-" + UUID.randomUUID());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        return props;
    }

    /**
     * The latest rollup per key on {@code usage-rollups} (as a compacted topic's reader sees it), read until every
     * expected rollup has reached its expected event count and then until nothing more arrives.
     */
    Map<RollupKey, Expected> readRollupsUntil(SchemaRegistryClient registry, Map<RollupKey, Expected> expected) {
        Map<RollupKey, Expected> latest = new HashMap<>();
        try (KafkaConsumer<RollupKey, Rollup> consumer = new KafkaConsumer<>(readCommittedConsumer("rollups-reader"),
                new AvroDeserializer<>(RollupKey.class, registry), new AvroDeserializer<>(Rollup.class, registry))) {
            consumer.subscribe(List.of(Topics.USAGE_ROLLUPS));
            try {
                poll(() -> {
                    for (ConsumerRecord<RollupKey, Rollup> record : consumer.poll(Duration.ofMillis(500))) {
                        latest.put(record.key(), Expected.of(record.value()));
                    }
                    return expected.entrySet().stream().allMatch(entry -> {
                        Expected got = latest.get(entry.getKey());
                        return got != null && got.count() >= entry.getValue().count();
                    });
                }, "all rollups to reach their expected event counts");
            } catch (ConditionTimeoutException e) {
                throw new AssertionError(shortfall(expected, latest), e);
            }
            convergedAtNanos = System.nanoTime();
            // Anything still in flight would change a count: read what is committed until nothing more arrives.
            int quietPolls = 0;
            while (quietPolls < 3) {
                var records = consumer.poll(Duration.ofSeconds(1));
                quietPolls = records.isEmpty() ? quietPolls + 1 : 0;
                records.forEach(record -> latest.put(record.key(), Expected.of(record.value())));
            }
        }
        return latest;
    }

    /** Which rollups fell short when the wait gave up: missing or lost events look different from a slow pipeline. */
    private static String shortfall(Map<RollupKey, Expected> expected, Map<RollupKey, Expected> latest) {
        List<String> examples = new ArrayList<>();
        int missing = 0;
        int arrivedShort = 0;
        long eventsShort = 0;
        for (var entry : expected.entrySet()) {
            Expected got = latest.get(entry.getKey());
            long gotCount = got == null ? 0 : got.count();
            if (gotCount < entry.getValue().count()) {
                if (got == null) {
                    missing++;
                } else {
                    arrivedShort++;
                }
                eventsShort += entry.getValue().count() - gotCount;
                if (examples.size() < 10) {
                    examples.add(entry.getKey().getBillingAccountId() + "/" + entry.getKey().getFeatureCode() + "@" + entry.getKey().getWindowStart()
                            + " " + gotCount + " of " + entry.getValue().count());
                }
            }
        }
        return "of " + expected.size() + " expected rollups, " + missing + " never arrived and " + arrivedShort + " arrived short of their count ("
                + eventsShort + " events in all); e.g. " + examples;
    }

    /** Every committed record on {@code usage-events-dlq}, once there are at least {@code atLeast}. */
    List<ConsumerRecord<byte[], byte[]>> readDeadLetters(int atLeast) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(readCommittedConsumer("dlq-reader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.USAGE_EVENTS_DLQ));
            poll(() -> {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
                return records.size() >= atLeast;
            }, atLeast + " dead letters");
            int quietPolls = 0;
            while (quietPolls < 2) {
                var more = consumer.poll(Duration.ofSeconds(1));
                quietPolls = more.isEmpty() ? quietPolls + 1 : 0;
                more.forEach(records::add);
            }
        }
        return records;
    }

    void awaitReady(AggregatorService service) {
        poll(() -> {
            try {
                return get(service, "/health/ready").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        }, "the aggregator to be ready");
    }

    static HttpResponse<String> get(AggregatorService service, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static void poll(BooleanSupplier condition, String what) {
        Awaitility.await(what).atMost(TIMEOUT).pollInterval(Duration.ofMillis(50)).until(condition::getAsBoolean);
    }
}
