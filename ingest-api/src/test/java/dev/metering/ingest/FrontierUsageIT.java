package dev.metering.ingest;

import static dev.metering.ingest.IngestFixture.frontierAuth;
import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.SharedKafka;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Frontier's CreateBillingUsage on a real broker: what only a broker proves. An acknowledged request's usages are on
 * {@code usage-events} as the exact Avro records, keyed by billing account; a refused request produces nothing there.
 * The HTTP contract (refusals, field rules, mapping, routes) is {@link FrontierUsageTest}'s part, without a broker.
 */
@ExtendWith(SharedKafka.class)
class FrontierUsageIT {
    private static final String PATH = "/v1beta1/organizations/org-1/billing/billing-7/usages";
    private static IngestFixture fixture;

    @BeforeAll
    static void start(EmbeddedKafka kafka) {
        fixture = new IngestFixture(kafka);
        // a user bound to every org, so path parameters meet the identifier rules rather than the binding
        IngestApiConfig config = fixture.config();
        java.util.List<dev.metering.ingest.auth.FrontierCredential> users = new java.util.ArrayList<>(config.frontierCredentials());
        users.add(dev.metering.ingest.auth.FrontierCredential.parse("root:root-secret:*"));
        fixture.api = fixture.startApi(config.withCredentials(users, config.kinde(), config.apiKeys()));
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void producesEveryUsageAsTheExactAvroRecordAndAnswersEmptyObject() {
        long before = fixture.endOffset();
        Instant createdAt = Instant.now().minus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
        Instant sent = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        IngestFixture.Response response = fixture.post(PATH, """
                {"usages": [
                  {"id": "u-1", "source": "API_Calls", "amount": 42, "type": "feature", "description": "calls",
                   "user_id": "user-9", "metadata": {"region": "eu", "retries": 2, "tags": ["a"]}, "created_at": "%s"},
                  {"id": "u-2", "source": "Storage", "amount": "7", "userId": "user-8", "createdAt": "%s"}
                ]}
                """.formatted(createdAt, createdAt.atOffset(java.time.ZoneOffset.ofHours(2))), "Authorization", frontierAuth());

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{}");
        List<ConsumerRecord<String, UsageEvent>> records = fixture.readFrom(before);
        assertThat(records).hasSize(2);
        assertThat(records).extracting(ConsumerRecord::key).containsExactly("billing-7", "billing-7");
        UsageEvent first = records.get(0).value();
        assertThat(first.getReceivedAt()).isBetween(sent, Instant.now());
        assertThat(first).isEqualTo(UsageEvent.newBuilder()
                .setEventId("u-1").setIdSpace(IdSpace.FRONTIER).setBillingAccountId("billing-7").setOrgId("org-1").setFeatureCode("api_calls")
                .setQuantity(new BigDecimal("42.000000000000")).setValueType(ValueType.DELTA)
                .setEventTime(createdAt).setReceivedAt(first.getReceivedAt())
                .setUsageType("feature").setUserId("user-9").setDescription("calls")
                .setMetadata(Map.of("region", "eu", "retries", "2", "tags", "[\"a\"]")).setOrigin("frontier")
                .build());
        UsageEvent second = records.get(1).value();
        assertThat(second).isEqualTo(UsageEvent.newBuilder()
                .setEventId("u-2").setIdSpace(IdSpace.FRONTIER).setBillingAccountId("billing-7").setOrgId("org-1").setFeatureCode("storage")
                .setQuantity(new BigDecimal("7.000000000000")).setValueType(ValueType.DELTA)
                .setEventTime(createdAt).setReceivedAt(second.getReceivedAt())
                .setUsageType("credit").setUserId("user-8").setOrigin("frontier")
                .build());
    }

    @Test
    void connectRefusalsProduceNothing() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post("/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage", """
                {"org_id": "org-1", "usages": [{"id": "ok", "source": "calls", "amount": 1}, {"id": "bad", "source": "calls", "amount": -1}]}""",
                "Authorization", frontierAuth());
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("code").asText()).isEqualTo("invalid_argument");
        assertThat(response.json().get("message").asText()).isEqualTo("usages[1].amount must not be negative, got -1");
        fixture.assertNothingProducedSince(before);
    }

    private static String expand(String parameter) {
        return parameter.startsWith("X") ? "x".repeat(Integer.parseInt(parameter.substring(1))) : parameter;
    }

}
