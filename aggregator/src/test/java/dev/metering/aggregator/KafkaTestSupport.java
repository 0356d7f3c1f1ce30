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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;

/** Producing events and reading rollups and dead letters (read_committed) on a real broker, with generous timeouts. */
final class KafkaTestSupport {
    static final Duration TIMEOUT = Duration.ofMinutes(3);
    private final String bootstrapServers;
    /** When {@link #readRollupsUntil} last saw every expected count reached (before its quiet-period reads). */
    long convergedAtNanos;

    KafkaTestSupport(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    /** Sends the events keyed by account, with {@code undecodable} garbage records spread among them. */
    void produce(SchemaRegistryClient registry, List<UsageEvent> events, int undecodable) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            int garbageEvery = undecodable == 0 ? Integer.MAX_VALUE : Math.max(1, events.size() / undecodable);
            int garbage = 0;
            for (int i = 0; i < events.size(); i++) {
                UsageEvent event = events.get(i);
                byte[] key = event.getBillingAccountId().getBytes(StandardCharsets.UTF_8);
                producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, key, serializer.serialize(Topics.USAGE_EVENTS, event)));
                if (garbage < undecodable && i % garbageEvery == 0) {
                    producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, key, ("not avro " + i).getBytes(StandardCharsets.UTF_8)));
                    garbage++;
                }
            }
            producer.flush();
        }
    }

    private Map<String, Object> readCommittedConsumer(String group) {
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
            poll(() -> {
                for (ConsumerRecord<RollupKey, Rollup> record : consumer.poll(Duration.ofMillis(500))) {
                    latest.put(record.key(), Expected.of(record.value()));
                }
                return expected.entrySet().stream().allMatch(entry -> {
                    Expected got = latest.get(entry.getKey());
                    return got != null && got.count() >= entry.getValue().count();
                });
            }, "all rollups to reach their expected event counts");
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
