package dev.metering.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * DESIGN.md's guarantees on the real thing: the three services as separate processes, a client that
 * retries with the same ids, and after each fault every rollup in PostgreSQL compared with a
 * recomputation from the events the client was told were accepted. Each scenario uses accounts of its
 * own, so the comparisons are independent.
 */
@ResourceLock(Pipeline.RESOURCE)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GuaranteesIT {
    private static final int BATCHES = 16;
    private static final int BATCH_SIZE = 50;
    static Pipeline pipeline;

    @BeforeAll
    static void startPipeline() {
        pipeline = Pipeline.shared();
    }

    @Test
    @Order(1)
    void killingTheIngestApiMidLoadLosesAndDoublesNothing() throws Exception {
        runWithFault("kill-ingest", () -> {
            pipeline.ingest.kill();
            pipeline.ingest.start();
        });
    }

    @Test
    @Order(2)
    void killingTheAggregatorMidLoadLosesAndDoublesNothing() throws Exception {
        runWithFault("kill-aggregator", () -> {
            pipeline.aggregator.kill();
            pipeline.aggregator.start();
        });
    }

    @Test
    @Order(3)
    void killingTheSinkMidLoadLosesAndDoublesNothing() throws Exception {
        runWithFault("kill-sink", () -> {
            pipeline.sink.kill();
            pipeline.sink.start();
        });
    }

    @Test
    @Order(4)
    void restartingTheBrokerMidLoadLosesAndDoublesNothing() throws Exception {
        runWithFault("broker-restart", () -> pipeline.kafka.restart());
    }

    @Test
    @Order(5)
    void restartingPostgresMidLoadLosesAndDoublesNothing() throws Exception {
        Assumptions.assumeTrue(pipeline.postgres.isEmbedded(), "needs a PostgreSQL the test can stop (the embedded one)");
        runWithFault("postgres-restart", () -> {
            pipeline.postgres.stop();
            Thread.sleep(3000);
            pipeline.postgres.start();
        });
    }

    @Test
    @Order(6)
    void stoppingEachServiceWithSigtermMidLoadLosesNothing() throws Exception {
        runWithFault("sigterm", () -> {
            for (ServiceProcess service : List.of(pipeline.ingest, pipeline.aggregator, pipeline.sink)) {
                int exit = service.terminate();
                assertThat(exit).as("%s exit code after SIGTERM", service).isIn(0, 143);
                service.start();
            }
        });
    }

    @Test
    @Order(7)
    void submittingAWholeBatchTwiceCountsItOnce() throws Exception {
        String prefix = prefix("duplicate-batch");
        UsageClient client = new UsageClient(pipeline.apiUrl());
        List<UsageClient.Event> batch = batch(prefix, new Random(6), 0);
        client.send(batch);
        client.send(batch);
        client.send(batch(prefix, new Random(7), 1));
        assertConverges(prefix, client.accepted());
    }

    @Test
    @Order(8)
    void outOfOrderEventsCountAndLateOnesGoToTheDeadLetterTopic() throws Exception {
        String prefix = prefix("late");
        UsageClient client = new UsageClient(pipeline.apiUrl());
        Random random = new Random(8);
        for (int i = 0; i < 6; i++) {
            client.send(batch(prefix, random, i)); // event times spread over 30 hours, in random order
        }
        // A producer that bypasses the API writes events whose hour ended more than the 48 h grace ago.
        Set<String> lateIds = new HashSet<>();
        try (KafkaProducer<String, UsageEvent> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"),
                new StringSerializer(), new AvroSerializer<>(SchemaRegistryClient.forUrl("mem://e2e-test"), false))) {
            for (int i = 0; i < 5; i++) {
                String account = prefix + "-acct-" + i;
                String id = "late-" + i;
                lateIds.add(id);
                Instant old = Instant.now().minus(Duration.ofDays(4)).truncatedTo(ChronoUnit.MILLIS);
                producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, account, UsageEvent.newBuilder()
                        .setEventId(id).setBillingAccountId(account).setFeatureCode("api")
                        .setQuantity(new BigDecimal("1000")).setValueType(ValueType.DELTA)
                        .setEventTime(old).setReceivedAt(Instant.now()).setOrigin("e2e-direct").build())).get();
            }
        }
        assertConverges(prefix, client.accepted());
        assertThat(deadLetteredLate(prefix, lateIds.size())).containsExactlyInAnyOrderElementsOf(lateIds);
    }

    private interface Fault {
        void inject() throws Exception;
    }

    /** Sends the load from two client threads and injects the fault a third of the way in. */
    private void runWithFault(String name, Fault fault) throws Exception {
        String prefix = prefix(name);
        UsageClient client = new UsageClient(pipeline.apiUrl());
        ExecutorService senders = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < BATCHES; i++) {
                int index = i;
                sent.add(senders.submit(() -> {
                    List<UsageClient.Event> batch = batch(prefix, new Random(index * 31L + name.hashCode()), index);
                    client.send(batch);
                    // Take back half of two DELTA usages of the batch, through the fault too: each must be applied once.
                    for (UsageClient.Revert revert : reverts(batch, index)) {
                        assertThat(client.revert(revert)).as("verdict on %s", revert).isEqualTo(200);
                    }
                    return null;
                }));
                if (i == BATCHES / 3) {
                    sent.get(i).get(3, TimeUnit.MINUTES);
                    fault.inject();
                }
            }
            for (Future<?> future : sent) {
                future.get(5, TimeUnit.MINUTES);
            }
        } finally {
            senders.shutdownNow();
        }
        assertThat(client.accepted()).hasSize(BATCHES * BATCH_SIZE);
        assertThat(client.appliedReverts()).hasSize(BATCHES * REVERTS_PER_BATCH);
        Set<String> acknowledged = new HashSet<>();
        client.accepted().forEach(event -> acknowledged.add(event.identity()));
        client.appliedReverts().forEach(revert -> acknowledged.add(revert.identity()));
        assertConvergesTo(prefix, acknowledged);
    }

    private static final int REVERTS_PER_BATCH = 2;

    /** Half of the first DELTA usages with a quantity of the batch (distinct usages), each with its own idempotency key. */
    static List<UsageClient.Revert> reverts(List<UsageClient.Event> batch, int batchIndex) {
        List<UsageClient.Revert> reverts = new ArrayList<>();
        for (UsageClient.Event usage : batch) {
            if (reverts.size() < REVERTS_PER_BATCH && usage.valueType().equals("DELTA") && usage.quantity().signum() > 0) {
                reverts.add(new UsageClient.Revert(usage, usage.quantity().divide(BigDecimal.valueOf(2)), "revert-b" + batchIndex + "-" + reverts.size()));
            }
        }
        return reverts;
    }

    /**
     * Waits until PostgreSQL holds exactly the rollups recomputed from the log (hours, and days composed from them
     * in usage_daily), then asserts it.
     */
    static void assertConverges(String prefix, List<UsageClient.Event> accepted) throws InterruptedException {
        assertConvergesTo(prefix, accepted.stream().map(UsageClient.Event::identity).collect(java.util.stream.Collectors.toSet()));
    }

    static void assertConvergesTo(String prefix, Set<String> acknowledged) throws InterruptedException {
        List<UsageEvent> log = Rollups.log(pipeline.kafka.bootstrapServers(), prefix);
        Map<String, Rollups.Figures> expected = Rollups.recomputeHours(log, acknowledged);
        Map<String, BigDecimal> expectedDays = Rollups.composeDays(expected, Rollups.hoursWithAbsolute(log, acknowledged));
        assertThat(expected).as("the log holds the acknowledged events of %s", prefix).isNotEmpty();
        // Until equal or the deadline; then the comparison below shows any difference.
        try {
            Awaitility.await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500))
                    .until(() -> Rollups.storedHours(pipeline.postgres.dataSource(), prefix).equals(expected));
        } catch (ConditionTimeoutException shownBelow) {
            // the assertion names what differs
        }
        assertThat(Rollups.storedHours(pipeline.postgres.dataSource(), prefix)).as("hour rollups in PostgreSQL for %s vs. recomputation from %d acknowledged events", prefix, acknowledged.size())
                .containsExactlyInAnyOrderEntriesOf(expected);
        assertThat(Rollups.storedDays(pipeline.postgres.dataSource(), prefix)).as("usage_daily billable quantities composed from hours")
                .containsExactlyInAnyOrderEntriesOf(expectedDays);
    }

    private static List<String> deadLetteredLate(String prefix, int expected) {
        List<String> ids = new ArrayList<>();
        AvroDeserializer<UsageEvent> events = new AvroDeserializer<>(UsageEvent.class, SchemaRegistryClient.forUrl("mem://e2e-test"));
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "e2e-dlq-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.USAGE_EVENTS_DLQ));
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (System.nanoTime() < deadline && ids.size() < expected) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.key().startsWith(prefix)
                            && "LATE".equals(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER))) {
                        ids.add(events.deserialize(Topics.USAGE_EVENTS_DLQ, record.value()).getEventId()); // original bytes kept
                    }
                }
            }
        }
        return ids;
    }

    private static final String[] TENANTS = {null, "org-a", "org-b"};

    /**
     * Events of ten accounts and three features in three tenants that share account ids and event ids, times spread
     * over the last 30 hours: "api" and "storage" DELTA, "seats" mixed ABSOLUTE and DELTA. Every fifth event is
     * also sent, with the same account and id but another quantity, by another tenant: a different event.
     */
    static List<UsageClient.Event> batch(String prefix, Random random, int batchIndex) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<UsageClient.Event> events = new ArrayList<>();
        for (int i = 0; events.size() < BATCH_SIZE; i++) {
            String account = prefix + "-acct-" + random.nextInt(10);
            int kind = random.nextInt(6);
            String feature = kind < 2 ? "seats" : (random.nextBoolean() ? "api" : "storage");
            boolean absolute = kind == 0;
            BigDecimal quantity = BigDecimal.valueOf(random.nextInt(100_000), 3);
            Instant eventTime = now.minusMillis((long) (random.nextDouble() * Duration.ofHours(30).toMillis()));
            int tenant = random.nextInt(TENANTS.length);
            String id = "b" + batchIndex + "-e" + i;
            events.add(new UsageClient.Event(TENANTS[tenant], id, account, feature, quantity, absolute ? "ABSOLUTE" : "DELTA", eventTime));
            if (i % 5 == 0 && events.size() < BATCH_SIZE) {
                events.add(new UsageClient.Event(TENANTS[(tenant + 1) % TENANTS.length], id, account, feature, quantity.add(BigDecimal.ONE),
                        absolute ? "ABSOLUTE" : "DELTA", eventTime));
            }
        }
        return events;
    }

    private static String prefix(String scenario) {
        return scenario + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
