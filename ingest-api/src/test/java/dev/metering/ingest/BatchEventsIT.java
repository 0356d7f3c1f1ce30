package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.SharedKafka;
import dev.metering.ops.auth.ApiKey;
import dev.metering.avro.ValueType;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The native batch endpoint on a real broker: accepted events are on {@code usage-events} as the exact Avro records,
 * concurrent requests are all acknowledged and produced, and a batch without a valid event produces nothing. The HTTP
 * contract is {@link BatchEventsTest}'s part.
 */
@ExtendWith(SharedKafka.class)
class BatchEventsIT {
    private static final String PATH = "/v1/events:batch";
    private static IngestFixture fixture;

    @BeforeAll
    static void start(EmbeddedKafka kafka) {
        fixture = new IngestFixture(kafka);
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void producesTheValidEventsExactlyAndReportsTheInvalidOnesPerEvent() {
        long before = fixture.endOffset();
        Instant eventTime = Instant.now().minus(30, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
        Instant sent = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        IngestFixture.Response response = fixture.post(PATH, """
                {"events": [
                  {"event_id": "e-1", "billing_account_id": "acct-1", "org_id": "org-1", "feature_code": "GPU_Seconds",
                   "quantity": "12345678901234567890123456.123456789012", "value_type": "ABSOLUTE", "event_time": "%s",
                   "usage_type": "compute", "user_id": "u-1", "project_id": "p-1", "description": "training",
                   "metadata": {"zone": "a"}},
                  {"event_id": "e-2", "billing_account_id": "acct-1", "feature_code": "gpu", "quantity": -1},
                  {"event_id": "e-3", "billing_account_id": "acct-2", "feature_code": "gpu", "quantity": 0.1},
                  {"event_id": "e-4", "billing_account_id": "acct-2", "feature_code": "gpu", "quantity": 1, "origin": "me"},
                  "not an object"
                ]}""".formatted(eventTime), "X-Api-Key", IngestFixture.API_KEY);

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        JsonNode results = response.json().get("results");
        assertThat(response.json().get("accepted").asInt()).isEqualTo(2);
        assertThat(response.json().get("invalid").asInt()).isEqualTo(3);
        assertThat(results).hasSize(5);
        assertThat(results.get(0).get("status").asText()).isEqualTo("accepted");
        assertThat(results.get(1).get("status").asText()).isEqualTo("invalid");
        assertThat(results.get(1).get("event_id").asText()).isEqualTo("e-2");
        assertThat(results.get(1).get("reason").asText()).isEqualTo("events[1].quantity must not be negative, got -1");
        assertThat(results.get(2).get("status").asText()).isEqualTo("accepted");
        assertThat(results.get(3).get("reason").asText()).contains("events[3].origin is not a known field");
        assertThat(results.get(4).get("reason").asText()).contains("events[4] must be a JSON object");

        List<ConsumerRecord<String, UsageEvent>> records = fixture.readFrom(before);
        assertThat(records).extracting(ConsumerRecord::key).containsExactly("acct-1", "acct-2");
        UsageEvent first = records.get(0).value();
        assertThat(first.getReceivedAt()).isBetween(sent, Instant.now());
        assertThat(first).isEqualTo(UsageEvent.newBuilder()
                .setEventId("e-1").setBillingAccountId("acct-1").setOrgId("org-1").setFeatureCode("GPU_Seconds")
                .setQuantity(new BigDecimal("12345678901234567890123456.123456789012")).setValueType(ValueType.ABSOLUTE)
                .setEventTime(eventTime).setReceivedAt(first.getReceivedAt()).setUsageType("compute").setUserId("u-1")
                .setProjectId("p-1").setDescription("training").setMetadata(Map.of("zone", "a")).setOrigin("batch")
                .build());
        UsageEvent second = records.get(1).value();
        assertThat(second).isEqualTo(UsageEvent.newBuilder()
                .setEventId("e-3").setBillingAccountId("acct-2").setFeatureCode("gpu")
                .setQuantity(new BigDecimal("0.100000000000")).setValueType(ValueType.DELTA)
                .setEventTime(second.getReceivedAt()).setEventTimeDefaulted(true).setReceivedAt(second.getReceivedAt()).setOrigin("batch")
                .build());
    }

    @Test
    void concurrentRequestsAreAllAcknowledgedAndProduced() throws Exception {
        long before = fixture.endOffset();
        int requests = 40;
        List<java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>>> responses = new java.util.ArrayList<>();
        for (int i = 0; i < requests; i++) {
            String body = """
                    {"events": [{"event_id": "c-%d-a", "billing_account_id": "acct-%d", "feature_code": "f", "quantity": 1},
                                {"event_id": "c-%d-b", "billing_account_id": "acct-%d", "feature_code": "f", "quantity": 2}]}"""
                    .formatted(i, i, i, i);
            responses.add(IngestFixture.HTTP.sendAsync(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + fixture.api.port() + PATH))
                    .header("Content-Type", "application/json").header("X-Api-Key", IngestFixture.API_KEY)
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()));
        }
        for (var response : responses) {
            assertThat(response.get(60, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        assertThat(fixture.readFrom(before)).hasSize(2 * requests)
                .extracting(record -> record.value().getEventId()).doesNotHaveDuplicates();
    }

    @Test
    void aBatchOfOnlyInvalidEventsProducesNothing() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, """
                {"events": [{"event_id": "", "billing_account_id": "acct-1", "feature_code": "gpu", "quantity": 1},
                            {"event_id": "e-late", "billing_account_id": "acct-1", "feature_code": "gpu", "quantity": 1,
                             "event_time": "2020-01-01T00:00:00Z"}]}""", "X-Api-Key", IngestFixture.API_KEY);
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.json().get("accepted").asInt()).isZero();
        assertThat(response.json().get("results").get(0).get("reason").asText()).isEqualTo("events[0].event_id must not be empty or blank");
        assertThat(response.json().get("results").get(1).get("reason").asText()).startsWith("events[1].event_time is too old");
        fixture.assertNothingProducedSince(before);
    }
}
