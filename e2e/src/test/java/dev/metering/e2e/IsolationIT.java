package dev.metering.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Issues 18, 19 and 13 on the real thing: tenants never touch each other, equal ids through different APIs are
 * different events, Kinde increments are each counted, and poison records (through the APIs, straight to
 * usage-events and straight to usage-rollups) amid steady load stop nothing while every other rollup lands exactly.
 */
@ResourceLock(Pipeline.RESOURCE)
class IsolationIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static Pipeline pipeline;

    @BeforeAll
    static void startPipeline() {
        pipeline = Pipeline.shared();
        GuaranteesIT.pipeline = pipeline;
    }

    @Test
    void oneTenantCannotBillAnothersAccountNorTurnItsUsageIntoConflicts() throws Exception {
        String prefix = prefix("tenants");
        String account = prefix + "-acct-bob-x1";
        assertThat(frontier("alice", "alice-pw", "org-a", account, "{\"usages\":[{\"id\":\"inv-1\",\"source\":\"api_calls\",\"amount\":1000000}]}")
                .statusCode()).isEqualTo(200);
        assertThat(frontier("bob", "bob-pw", "org-b", account, "{\"usages\":[{\"id\":\"inv-1\",\"source\":\"api_calls\",\"amount\":3}]}")
                .statusCode()).isEqualTo(200);
        // Alice's credential is bound to org-a: writing in org-b's name is refused.
        assertThat(frontier("alice", "alice-pw", "org-b", account, "{\"usages\":[{\"id\":\"inv-2\",\"source\":\"api_calls\",\"amount\":5}]}")
                .statusCode()).isEqualTo(403);

        Map<String, BigDecimal> billed = awaitHourlyBillable(prefix, 2);
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
        assertThat(billed).containsEntry(Rollups.key("org-a", account, "api_calls", hour), new BigDecimal("1000000.000000000000"))
                .containsEntry(Rollups.key("org-b", account, "api_calls", hour), new BigDecimal("3.000000000000"))
                .hasSize(2);
        assertThat(deadLettered(prefix, Duration.ofSeconds(3))).as("nothing dead-lettered as a conflict").isEmpty();
    }

    @Test
    void equalIdsThroughDifferentApisAreDifferentEvents() throws Exception {
        String prefix = prefix("id-spaces");
        String account = prefix + "-acct";
        UsageClient client = new UsageClient(pipeline.apiUrl());
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<UsageClient.Event> natives = new ArrayList<>();
        for (String id : List.of("e1", "e2", "e3")) {
            natives.add(new UsageClient.Event("org-a", id, account, "api_calls", BigDecimal.ONE, "DELTA", now));
        }
        client.send(natives);
        assertThat(frontier("alice", "alice-pw", "org-a", account, "{\"usages\":[{\"id\":\"e3\",\"source\":\"api_calls\",\"amount\":10}]}")
                .statusCode()).isEqualTo(200);
        assertThat(frontier("alice", "alice-pw", "org-a", account, "{\"usages\":[{\"id\":\"e1\",\"source\":\"api_calls\",\"amount\":100}]}")
                .statusCode()).isEqualTo(200);
        assertThat(kinde("e2", "{\"customer_agreement_id\":\"" + account + "\",\"billing_feature_code\":\"api_calls\",\"meter_value\":\"1000\"}")
                .statusCode()).isEqualTo(200);

        Map<String, BigDecimal> billed = awaitHourlyBillable(prefix, 1);
        assertThat(billed.values()).as("all six events counted: 1+1+1+10+100+1000").containsExactly(new BigDecimal("1113.000000000000"));
        assertThat(eventCount(prefix)).isEqualTo(6);
        assertThat(deadLettered(prefix, Duration.ofSeconds(3))).isEmpty();
    }

    @Test
    void kindeCountsEveryIncrementAndAbsoluteResetsTheCounter() throws Exception {
        String prefix = prefix("kinde");
        String increments = prefix + "-acct-inc";
        for (int i = 0; i < 3; i++) {
            assertThat(kinde(null, "{\"customer_agreement_id\":\"" + increments + "\",\"billing_feature_code\":\"seats\",\"meter_value\":\"1\"}")
                    .statusCode()).isEqualTo(200);
        }
        String reset = prefix + "-acct-reset";
        assertThat(kinde(null, "{\"customer_agreement_id\":\"" + reset + "\",\"billing_feature_code\":\"seats\",\"meter_value\":\"10\","
                + "\"meter_type_code\":\"absolute\"}").statusCode()).isEqualTo(200);
        assertThat(kinde(null, "{\"customer_agreement_id\":\"" + reset + "\",\"billing_feature_code\":\"seats\",\"meter_value\":\"2\"}")
                .statusCode()).isEqualTo(200);
        // A retry with the same Idempotency-Key counts once.
        for (int i = 0; i < 2; i++) {
            assertThat(kinde("retry-1", "{\"customer_agreement_id\":\"" + increments + "\",\"billing_feature_code\":\"seats\",\"meter_value\":\"5\"}")
                    .statusCode()).isEqualTo(200);
        }

        Map<String, BigDecimal> billed = awaitHourlyBillable(prefix, 2, Map.of(increments, new BigDecimal("8"), reset, new BigDecimal("12")));
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
        assertThat(billed).containsEntry(Rollups.key(Pipeline.KINDE_ORG, increments, "seats", hour), new BigDecimal("8.000000000000"))
                .containsEntry(Rollups.key(Pipeline.KINDE_ORG, reset, "seats", hour), new BigDecimal("12.000000000000"));
    }

    @Test
    void clientsResendingABatchWithoutEventTimesAreCountedOnceAndShowAsDuplicates() throws Exception {
        String prefix = prefix("resend");
        StringBuilder body = new StringBuilder("{\"events\":[");
        for (int i = 0; i < 5; i++) {
            body.append(i == 0 ? "" : ",").append("{\"event_id\":\"r").append(i).append("\",\"billing_account_id\":\"").append(prefix)
                    .append("-acct\",\"feature_code\":\"api_calls\",\"quantity\":\"1\"}");
        }
        body.append("]}");
        double duplicatesBefore = pipeline.aggregator.metric("metering_aggregator_duplicates_dropped_total");
        for (int attempt = 0; attempt < 4; attempt++) {
            assertThat(nativeBatch(body.toString()).path("accepted").asInt()).isEqualTo(5);
            Thread.sleep(50); // each attempt gets its own receipt time as event time
        }
        Map<String, BigDecimal> billed = awaitHourlyBillable(prefix, 1, Map.of(prefix + "-acct", new BigDecimal("5")));
        assertThat(billed.values()).containsExactly(new BigDecimal("5.000000000000"));
        Awaitility.await("15 duplicates counted").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> pipeline.aggregator.metric("metering_aggregator_duplicates_dropped_total") - duplicatesBefore >= 15);
        assertThat(pipeline.aggregator.metric("metering_aggregator_duplicates_dropped_total") - duplicatesBefore).isEqualTo(15);
        assertThat(deadLettered(prefix, Duration.ofSeconds(2))).as("no retry is a conflict").isEmpty();
    }

    @Test
    void poisonRecordsAmidSteadyLoadStopNothing() throws Exception {
        String prefix = prefix("poison");
        UsageClient client = new UsageClient(pipeline.apiUrl());
        ExecutorService load = Executors.newSingleThreadExecutor();
        Future<?> sent = load.submit(() -> {
            for (int i = 0; i < 12; i++) {
                client.send(GuaranteesIT.batch(prefix, new Random(1000 + i), i));
            }
        });
        try {
            // Through the APIs: each refused with a 4xx, nothing produced.
            String nul = "\\u0000";
            assertThat(nativeBatch("{\"events\":[{\"event_id\":\"a" + nul + "b\",\"billing_account_id\":\"" + prefix + "-x\","
                    + "\"feature_code\":\"api\",\"quantity\":\"1\"}]}").path("results").path(0).path("status").asText()).isEqualTo("invalid");
            assertThat(frontier("alice", "alice-pw", "org-a", prefix + "-x", "{\"usages\":[{\"id\":\"p1\",\"source\":\"s" + nul + "rc\",\"amount\":1}]}")
                    .statusCode()).isEqualTo(400);
            assertThat(frontier("alice", "alice-pw", "org-a", prefix + "-" + "x".repeat(2700), "{\"usages\":[{\"id\":\"p2\",\"source\":\"api\",\"amount\":1}]}")
                    .statusCode()).isEqualTo(400);
            assertThat(frontier("alice", "alice-pw", "org-a", "%E2%80%83", "{\"usages\":[{\"id\":\"p3\",\"source\":\"api\",\"amount\":1}]}")
                    .statusCode()).isEqualTo(400);
            assertThat(kinde(null, "{\"customer_agreement_id\":\"" + prefix + "-x\",\"billing_feature_code\":\"s\\ud800x\",\"meter_value\":\"1\"}")
                    .statusCode()).isEqualTo(400);

            // Straight to usage-events: dead-lettered as INVALID_VALUE.
            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            String longAccount = prefix + "-" + "y".repeat(2700);
            try (KafkaProducer<String, UsageEvent> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafka.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all"),
                    new StringSerializer(), new AvroSerializer<>(SchemaRegistryClient.forUrl("mem://e2e-poison"), false))) {
                for (String[] poison : new String[][] {{prefix + "-direct", "f\u0000"}, {longAccount, "api"}}) {
                    producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, poison[0], UsageEvent.newBuilder()
                            .setEventId("poison-" + UUID.randomUUID()).setBillingAccountId(poison[0]).setFeatureCode(poison[1])
                            .setQuantity(BigDecimal.ONE).setValueType(ValueType.DELTA).setEventTime(now).setReceivedAt(now).build())).get();
                }
            }
            // Straight to usage-rollups (a producer that bypasses the aggregator): kept in sink_rejected_records.
            List<byte[]> poisonKeys = new ArrayList<>();
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafka.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all"),
                    new ByteArraySerializer(), new ByteArraySerializer());
                 AvroSerializer<RollupKey> keys = new AvroSerializer<>(SchemaRegistryClient.forUrl("mem://e2e-poison"), true);
                 AvroSerializer<Rollup> values = new AvroSerializer<>(SchemaRegistryClient.forUrl("mem://e2e-poison"), false)) {
                for (String[] poison : new String[][] {{prefix + "-rollup", "f\u0000"}, {longAccount, "api"}}) {
                    Rollup rollup = rollup(poison[0], poison[1], now);
                    byte[] key = keys.serialize(Topics.USAGE_ROLLUPS, new RollupKey(rollup.getOrgId(), rollup.getBillingAccountId(),
                            rollup.getFeatureCode(), WindowSize.HOUR, rollup.getWindowStart()));
                    poisonKeys.add(key);
                    producer.send(new ProducerRecord<>(Topics.USAGE_ROLLUPS, key, values.serialize(Topics.USAGE_ROLLUPS, rollup))).get();
                }
            }
            sent.get(5, TimeUnit.MINUTES);

            GuaranteesIT.assertConverges(prefix, client.accepted());
            assertThat(deadLettered(prefix, 2, Duration.ofSeconds(30))).as("poison straight to usage-events")
                    .containsExactly("INVALID_VALUE", "INVALID_VALUE");
            for (byte[] key : poisonKeys) {
                assertThat(rejectedRollups(key)).as("poison straight to usage-rollups kept in sink_rejected_records").isEqualTo(1);
            }
        } finally {
            load.shutdownNow();
        }
    }

    private static Rollup rollup(String account, String feature, Instant now) {
        Instant hour = now.truncatedTo(ChronoUnit.HOURS);
        BigDecimal one = new BigDecimal("1.000000000000");
        return Rollup.newBuilder().setOrgId("default").setBillingAccountId(account).setFeatureCode(feature).setWindowSize(WindowSize.HOUR)
                .setWindowStart(hour).setWindowEnd(hour.plus(Duration.ofHours(1))).setEventCount(1).setQuantitySum(one)
                .setBillableQuantity(one).setLatestValue(one).setLatestValueType(ValueType.DELTA).setLatestEventTime(now)
                .setLatestEventId("p").setMinValue(one).setMaxValue(one).setFirstEventTime(now).setLastEventTime(now).setUpdatedAt(now)
                .build();
    }

    private static HttpResponse<String> frontier(String user, String secret, String org, String billingId, String body) throws Exception {
        String auth = Base64.getEncoder().encodeToString((user + ":" + secret).getBytes(StandardCharsets.UTF_8));
        return post("/v1beta1/organizations/" + org + "/billing/" + billingId + "/usages", body, Map.of("Authorization", "Basic " + auth));
    }

    private static HttpResponse<String> kinde(String idempotencyKey, String body) throws Exception {
        Map<String, String> headers = new java.util.HashMap<>(Map.of("Authorization", "Bearer " + pipeline.kindeTokens.token()));
        if (idempotencyKey != null) {
            headers.put("Idempotency-Key", idempotencyKey);
        }
        return post("/api/v1/billing/meter_usage", body, headers);
    }

    private static JsonNode nativeBatch(String body) throws Exception {
        HttpResponse<String> response = post("/v1/events:batch", body, Map.of("X-Api-Key", Pipeline.API_KEY));
        return JSON.readTree(response.body());
    }

    private static HttpResponse<String> post(String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(pipeline.apiUrl() + path)).timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Billable quantity per hour row of the prefix's accounts, once {@code rows} rows are there. */
    private static Map<String, BigDecimal> awaitHourlyBillable(String prefix, int rows) throws InterruptedException {
        return awaitHourlyBillable(prefix, rows, Map.of());
    }

    /** ... and, per account, the billable quantity it must reach (rows update while events arrive). */
    private static Map<String, BigDecimal> awaitHourlyBillable(String prefix, int rows, Map<String, BigDecimal> expected) throws InterruptedException {
        try {
            Awaitility.await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
                Map<String, BigDecimal> billed = hourlyBillable(prefix);
                return billed.size() >= rows && expected.entrySet().stream().allMatch(e -> billed.entrySet().stream()
                        .anyMatch(b -> b.getKey().contains("|" + e.getKey() + "|") && b.getValue().compareTo(e.getValue()) == 0));
            });
            Thread.sleep(1000); // anything wrongly counted would arrive with the rest
        } catch (ConditionTimeoutException shownByTheCaller) {
            // the caller's assertions on what is there name the difference
        }
        return hourlyBillable(prefix);
    }

    private static Map<String, BigDecimal> hourlyBillable(String prefix) {
        Map<String, BigDecimal> billed = new java.util.TreeMap<>();
        for (Map.Entry<String, Rollups.Figures> hour : Rollups.storedHours(pipeline.postgres.dataSource(), prefix).entrySet()) {
            billed.put(hour.getKey(), hour.getValue().billableQuantity());
        }
        return billed;
    }

    private static long eventCount(String prefix) {
        return Rollups.storedHours(pipeline.postgres.dataSource(), prefix).values().stream().mapToLong(Rollups.Figures::eventCount).sum();
    }

    private static int rejectedRollups(byte[] key) {
        return Awaitility.await("the rollup in sink_rejected_records").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    try (Connection connection = pipeline.postgres.dataSource().getConnection();
                         PreparedStatement statement = connection.prepareStatement(
                                 "SELECT count(*) FROM sink_rejected_records WHERE topic = 'usage-rollups' AND record_key = ?")) {
                        statement.setBytes(1, key);
                        try (ResultSet rows = statement.executeQuery()) {
                            rows.next();
                            return rows.getInt(1);
                        }
                    }
                }, count -> count > 0);
    }

    /** DLQ reasons of records whose key starts with the prefix, read for {@code wait} (to show there are none). */
    private static List<String> deadLettered(String prefix, Duration wait) {
        return deadLettered(prefix, Integer.MAX_VALUE, wait);
    }

    /** DLQ reasons of records whose key starts with the prefix, once {@code expected} have arrived (or at the deadline). */
    private static List<String> deadLettered(String prefix, int expected, Duration wait) {
        List<String> reasons = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "e2e-dlq-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.USAGE_EVENTS_DLQ));
            long deadline = System.nanoTime() + wait.toNanos();
            while (reasons.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (record.key() != null && record.key().startsWith(prefix)) {
                        reasons.add(DeadLetter.header(record.headers(), DeadLetter.REASON_HEADER));
                    }
                }
            }
        }
        return reasons;
    }

    private static String prefix(String scenario) {
        return scenario + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
