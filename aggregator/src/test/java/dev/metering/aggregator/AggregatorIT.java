package dev.metering.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.TopicSetup.TopicSettings;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The aggregator on a real broker with exactly_once_v2: random events with duplicates and out-of-order
 * event times; the rollups read back with read_committed must equal a straightforward recomputation.
 */
class AggregatorIT {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorIT.class);
    private static final int EVENTS = 100_000;
    private static final int ACCOUNTS = 40;
    private static final String[] FEATURES = {"api-calls", "storage-gb", "seats", "egress"};
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private static EmbeddedKafka kafka;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void startKafka() {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void rollupsEqualAnIndependentRecomputationOfTheAcceptedEvents() throws Exception {
        String registryUrl = "mem://aggregator-it-" + UUID.randomUUID();
        SchemaRegistryClient registry = SchemaRegistryClient.forUrl(registryUrl);
        AggregatorConfig config = new AggregatorConfig(kafka.bootstrapServers(), registryUrl, "aggregator-it", stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(500), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(3, (short) 1, Duration.ofDays(7), Duration.ofDays(30)));

        Random random = new Random(20261123L);
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<UsageEvent> unique = new ArrayList<>(EVENTS);
        for (int i = 0; i < EVENTS; i++) {
            unique.add(randomEvent(random, i, now));
        }
        // ~5% duplicates, resent later (some with another received_at, as a client retry would), and
        // everything shuffled so event times arrive out of order.
        List<UsageEvent> sent = new ArrayList<>(unique);
        int duplicates = EVENTS / 20;
        for (int i = 0; i < duplicates; i++) {
            UsageEvent original = unique.get(random.nextInt(EVENTS));
            sent.add(i % 2 == 0 ? original : UsageEvent.newBuilder(original).setReceivedAt(original.getReceivedAt().plusSeconds(1)).build());
        }
        Collections.shuffle(sent, random);
        int undecodable = 50;

        try (AggregatorService service = new AggregatorService(config)) {
            service.start();
            awaitReady(service);

            long started = System.nanoTime();
            produce(registry, sent, undecodable);
            Map<RollupKey, Expected> expected = recompute(unique);
            Map<RollupKey, Expected> actual = readRollupsUntil(registry, expected);
            LOG.info("{} events ({} duplicates, {} undecodable) aggregated into {} rollups in {} s", sent.size(), duplicates, undecodable,
                    actual.size(), Duration.ofNanos(System.nanoTime() - started).toSeconds());

            List<String> mismatches = new ArrayList<>();
            for (var entry : expected.entrySet()) {
                Expected got = actual.get(entry.getKey());
                if (!entry.getValue().equals(got)) {
                    mismatches.add(entry.getKey() + ": expected " + entry.getValue() + " but got " + got);
                }
            }
            for (RollupKey key : actual.keySet()) {
                if (!expected.containsKey(key)) {
                    mismatches.add(key + ": not expected, got " + actual.get(key));
                }
            }
            assertThat(mismatches).as("rollups differing from the recomputation").isEmpty();
            assertThat(actual).hasSize(expected.size());

            List<ConsumerRecord<byte[], byte[]>> deadLetters = readDeadLetters(undecodable);
            assertThat(deadLetters).hasSize(undecodable)
                    .allSatisfy(record -> assertThat(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER)).isEqualTo("UNDECODABLE"));
            assertThat(service.metrics().duplicateCount()).isEqualTo(duplicates);
            assertThat(service.metrics().acceptedCount()).isEqualTo(EVENTS);

            HttpResponse<String> metrics = get(service, "/metrics");
            assertThat(metrics.body()).contains("metering_aggregator_events_accepted_total " + (double) EVENTS)
                    .contains("metering_aggregator_events_dead_lettered_total{reason=\"UNDECODABLE\"} " + (double) undecodable)
                    .contains("metering_aggregator_end_to_end_lag_seconds_count");
        }
    }

    private static UsageEvent randomEvent(Random random, int index, Instant now) {
        String account = "acct-" + random.nextInt(ACCOUNTS);
        boolean absolute = random.nextInt(5) == 0;
        // Up to 40 h back (inside the 48 h grace) and up to 4 min ahead (inside the 5 min future skew).
        Instant eventTime = now.minusMillis((long) (random.nextDouble() * Duration.ofHours(40).toMillis()))
                .plusMillis(random.nextInt((int) Duration.ofMinutes(4).toMillis()));
        if (random.nextInt(50) == 0) {
            eventTime = eventTime.truncatedTo(ChronoUnit.HOURS); // exactly on a window boundary
        }
        BigDecimal quantity = switch (random.nextInt(4)) {
            case 0 -> new BigDecimal("0.1");
            case 1 -> new BigDecimal("0.2");
            case 2 -> BigDecimal.valueOf(random.nextInt(1_000_000));
            default -> new BigDecimal(BigDecimal.valueOf(random.nextLong() & Long.MAX_VALUE).toBigInteger(), 12);
        };
        return UsageEvent.newBuilder()
                .setEventId("evt-" + index + (index % 7 == 0 ? "-" + UUID.randomUUID() : ""))
                .setBillingAccountId(account)
                .setFeatureCode(FEATURES[random.nextInt(FEATURES.length)])
                .setQuantity(quantity.setScale(12))
                .setValueType(absolute ? ValueType.ABSOLUTE : ValueType.DELTA)
                // A few identical event times per series, so ties are broken by event id.
                .setEventTime(random.nextInt(100) == 0 ? now.minus(Duration.ofHours(3)) : eventTime)
                .setReceivedAt(now)
                .setOrigin("aggregator-it")
                .build();
    }

    private static void produce(SchemaRegistryClient registry, List<UsageEvent> events, int undecodable) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(registry, false);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            int garbageEvery = events.size() / undecodable;
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

    /** What every rollup must hold, computed the plain way: group the unique events and fold. */
    record Expected(long count, BigDecimal sum, BigDecimal latestValue, ValueType latestType, Instant latestTime, String latestId,
                    BigDecimal min, BigDecimal max, Instant first, Instant last) {
        static Expected of(Rollup rollup) {
            return new Expected(rollup.getEventCount(), rollup.getQuantitySum(), rollup.getLatestValue(), rollup.getLatestValueType(),
                    rollup.getLatestEventTime(), rollup.getLatestEventId(), rollup.getMinValue(), rollup.getMaxValue(),
                    rollup.getFirstEventTime(), rollup.getLastEventTime());
        }
    }

    private static Map<RollupKey, Expected> recompute(List<UsageEvent> events) {
        Map<RollupKey, List<UsageEvent>> byWindow = new HashMap<>();
        for (UsageEvent event : events) {
            long time = event.getEventTime().toEpochMilli();
            long hourStart = time - Math.floorMod(time, 3_600_000L);
            long dayStart = time - Math.floorMod(time, 86_400_000L);
            byWindow.computeIfAbsent(new RollupKey(event.getBillingAccountId(), event.getFeatureCode(), WindowSize.HOUR,
                    Instant.ofEpochMilli(hourStart)), k -> new ArrayList<>()).add(event);
            byWindow.computeIfAbsent(new RollupKey(event.getBillingAccountId(), event.getFeatureCode(), WindowSize.DAY,
                    Instant.ofEpochMilli(dayStart)), k -> new ArrayList<>()).add(event);
        }
        Map<RollupKey, Expected> expected = new HashMap<>();
        byWindow.forEach((key, windowEvents) -> {
            BigDecimal sum = BigDecimal.ZERO;
            UsageEvent latest = windowEvents.get(0);
            BigDecimal min = latest.getQuantity();
            BigDecimal max = latest.getQuantity();
            Instant first = latest.getEventTime();
            Instant last = latest.getEventTime();
            for (UsageEvent event : windowEvents) {
                if (event.getValueType() == ValueType.DELTA) {
                    sum = sum.add(event.getQuantity());
                }
                int byTime = event.getEventTime().compareTo(latest.getEventTime());
                if (byTime > 0 || (byTime == 0 && event.getEventId().compareTo(latest.getEventId()) > 0)) {
                    latest = event;
                }
                min = min.min(event.getQuantity());
                max = max.max(event.getQuantity());
                first = event.getEventTime().isBefore(first) ? event.getEventTime() : first;
                last = event.getEventTime().isAfter(last) ? event.getEventTime() : last;
            }
            expected.put(key, new Expected(windowEvents.size(), sum.setScale(12), latest.getQuantity(), latest.getValueType(),
                    latest.getEventTime(), latest.getEventId(), min, max, first, last));
        });
        return expected;
    }

    private static Map<String, Object> readCommittedConsumer(String group) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group + "-" + UUID.randomUUID());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        return props;
    }

    /** Latest rollup per key, read until every expected rollup has reached its expected event count. */
    private static Map<RollupKey, Expected> readRollupsUntil(SchemaRegistryClient registry, Map<RollupKey, Expected> expected) {
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
            }, "all rollups reach their expected event counts");
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

    private static List<ConsumerRecord<byte[], byte[]>> readDeadLetters(int atLeast) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(readCommittedConsumer("dlq-reader"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.USAGE_EVENTS_DLQ));
            poll(() -> {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
                return records.size() >= atLeast;
            }, atLeast + " dead letters");
            consumer.poll(Duration.ofSeconds(2)).forEach(records::add);
        }
        return records;
    }

    private static void awaitReady(AggregatorService service) {
        poll(() -> {
            try {
                return get(service, "/health/ready").statusCode() == 200;
            } catch (Exception e) {
                return false;
            }
        }, "aggregator ready");
    }

    private static HttpResponse<String> get(AggregatorService service, String path) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.httpPort() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void poll(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Timed out after " + TIMEOUT + " waiting for " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("Interrupted waiting for " + what, e);
            }
        }
    }
}
