package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
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

/**
 * The native batch endpoint over HTTP without a broker ({@link FakePublisher}): keys and tenants, refusals as a whole
 * and per event; "produces nothing" means the publisher was given nothing. The broker's part is {@link BatchEventsIT}.
 */
class BatchEventsTest {
    private static final String PATH = "/v1/events:batch";
    private static IngestFixture fixture;

    @BeforeAll
    static void start() {
        fixture = IngestFixture.withoutBroker();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void aKeyBoundToAnOrganizationWritesOnlyForItAndUnboundKeysNameTheirOrgPerEvent() {
        IngestApiConfig config = fixture.config();
        List<ApiKey> keys = new java.util.ArrayList<>(config.apiKeys());
        keys.add(ApiKey.parse("key-a:secret-a:org-a"));
        keys.add(ApiKey.parse("key-ab:secret-ab:org-a|org-b"));
        IngestApi api = fixture.startApi(config.withCredentials(config.frontierCredentials(), config.kinde(), keys));
        long before = fixture.endOffset();

        IngestFixture.Response boundA = fixture.post(api, PATH, """
                {"events": [{"event_id": "t-1", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1},
                            {"event_id": "t-2", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1, "org_id": "org-a"},
                            {"event_id": "t-3", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1, "org_id": "org-b"}]}""",
                "X-Api-Key", "secret-a");
        assertThat(boundA.status()).as(boundA.body()).isEqualTo(200);
        assertThat(boundA.json().get("accepted").asInt()).isEqualTo(2);
        JsonNode refused = boundA.json().get("results").get(2);
        assertThat(refused.get("status").asText()).isEqualTo("invalid");
        assertThat(refused.get("code").asText()).isEqualTo("PERMISSION_DENIED");
        assertThat(refused.get("reason").asText()).isEqualTo("events[2].org_id 'org-b' is not an organization API key 'key-a' may write for [org-a]");

        IngestFixture.Response boundTwo = fixture.post(api, PATH, """
                {"events": [{"event_id": "t-4", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1, "org_id": "org-b"},
                            {"event_id": "t-5", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", "secret-ab");
        assertThat(boundTwo.json().get("accepted").asInt()).as(boundTwo.body()).isEqualTo(1);
        assertThat(boundTwo.json().get("results").get(1).get("reason").asText()).startsWith("events[1].org_id is required");

        IngestFixture.Response unbound = fixture.post(api, PATH, """
                {"events": [{"event_id": "t-6", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1, "org_id": "org-b"},
                            {"event_id": "t-7", "billing_account_id": "acct-shared", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(unbound.json().get("accepted").asInt()).as(unbound.body()).isEqualTo(2);

        List<ConsumerRecord<String, UsageEvent>> records = fixture.readFrom(before);
        assertThat(records).extracting(record -> record.value().getEventId() + "@" + record.value().getOrgId())
                .containsExactly("t-1@org-a", "t-2@org-a", "t-4@org-b", "t-6@org-b", "t-7@null");
        assertThat(records).allSatisfy(record -> assertThat(record.value().getIdSpace()).isEqualTo(IdSpace.NATIVE));
    }

    @Test
    void acceptsTheKeyAsBearerToken() {
        IngestFixture.Response response = fixture.post(PATH, """
                {"events": [{"event_id": "e-bearer", "billing_account_id": "acct-1", "feature_code": "gpu", "quantity": 1}]}""",
                "Authorization", "Bearer " + IngestFixture.API_KEY);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.json().get("accepted").asInt()).isEqualTo(1);
    }

    @Test
    void refusesMissingAndWrongKeysAndProducesNothing() {
        String body = """
                {"events": [{"event_id": "e-x", "billing_account_id": "acct-1", "feature_code": "gpu", "quantity": 1}]}""";
        for (String[] headers : new String[][] {{}, {"X-Api-Key", "wrong"}, {"Authorization", "Bearer wrong"}}) {
            long before = fixture.endOffset();
            IngestFixture.Response response = fixture.post(PATH, body, headers);
            assertThat(response.status()).isEqualTo(401);
            assertThat(response.json().get("code").asText()).isEqualTo("UNAUTHENTICATED");
            assertThat(response.json().get("message").asText()).containsAnyOf("missing API key", "invalid API key");
            fixture.assertNothingProducedSince(before);
        }
    }

    @Test
    void refusesMalformedRequestsAsAWhole() {
        String event = "{\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": 1}";
        String[][] cases = {
                {"{\"events\": []}", "events must hold at least one event"},
                {"{\"events\": [" + String.join(",", java.util.Collections.nCopies(1001, event)) + "]}", "at most 1000"},
                {"{\"events\": [" + event + "], \"extra\": 1}", "extra is not a known field"},
                {"{\"events\": [" + event + "]} trailing", "not valid JSON"},
                {"{\"events\": [{\"event_id\": \"e\", \"billing_account_id\": \"a\", \"feature_code\": \"f\", \"quantity\": NaN}]}", "not valid JSON"},
        };
        for (String[] testCase : cases) {
            long before = fixture.endOffset();
            IngestFixture.Response response = fixture.post(PATH, testCase[0], "X-Api-Key", IngestFixture.API_KEY);
            assertThat(response.status()).as(response.body()).isEqualTo(400);
            assertThat(response.json().get("message").asText()).contains(testCase[1]);
            fixture.assertNothingProducedSince(before);
        }
    }

}
