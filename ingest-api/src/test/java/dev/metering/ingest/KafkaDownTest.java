package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * When the events are not stored (the publisher fails, as Kafka does when it is down or slow), every API answers 503 in
 * its own shape with Retry-After, never 2xx, says so in its own words (never the failure's text), and reports not ready.
 * That a real broker going away leads here, and nothing appears once it is back, is {@link KafkaDownIT}'s part.
 */
class KafkaDownTest {
    private static IngestFixture fixture;

    @BeforeAll
    static void start() {
        fixture = IngestFixture.withoutBroker();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @AfterEach
    void up() {
        fixture.fake.down(false);
    }

    @Test
    void everyApiAnswers503InItsShapeWithRetryAfterAndNoFailureText() {
        long before = fixture.endOffset();
        fixture.fake.down(true);

        IngestFixture.Response frontier = fixture.post("/v1beta1/organizations/org-1/billing/b-1/usages", """
                {"usages": [{"id": "down-1", "source": "calls", "amount": 1}, {"id": "down-2", "source": "calls", "amount": 2}]}""",
                "Authorization", IngestFixture.frontierAuth());
        assertThat(frontier.status()).as(frontier.body()).isEqualTo(503);
        assertThat(frontier.header("Retry-After")).isNotBlank();
        assertThat(frontier.json().get("code").asInt()).isEqualTo(14);
        assertThat(frontier.json().get("details").isArray()).isTrue();
        assertThat(frontier.json().get("message").asText()).startsWith("Kafka did not acknowledge the events within")
                .contains("retry later with the same ids");

        IngestFixture.Response connect = fixture.post("/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage", """
                {"org_id": "org-1", "usages": [{"id": "down-3", "source": "calls", "amount": 1}]}""",
                "Authorization", IngestFixture.frontierAuth());
        assertThat(connect.status()).isEqualTo(503);
        assertThat(connect.json().get("code").asText()).isEqualTo("unavailable");
        assertThat(connect.header("Retry-After")).isNotBlank();

        IngestFixture.Response kinde = fixture.post("/api/v1/billing/meter_usage", """
                {"customer_agreement_id": "a-1", "billing_feature_code": "seats", "meter_value": "1"}""",
                "Authorization", fixture.bearer());
        assertThat(kinde.status()).isEqualTo(503);
        assertThat(kinde.header("Retry-After")).isNotBlank();
        assertThat(kinde.json().get("errors").get(0).get("code").asText()).isEqualTo("SERVICE_UNAVAILABLE");

        IngestFixture.Response batch = fixture.post("/v1/events:batch", """
                {"events": [{"event_id": "down-4", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(batch.status()).isEqualTo(503);
        assertThat(batch.header("Retry-After")).isNotBlank();
        assertThat(batch.json().get("code").asText()).isEqualTo("UNAVAILABLE");

        IngestFixture.Response revert = fixture.post("/v1/events:revert", """
                {"billing_account_id": "acct", "event_id": "u-1", "amount": 1}""", "X-Api-Key", IngestFixture.API_KEY, "Idempotency-Key", "r-1");
        assertThat(revert.status()).isEqualTo(503);
        assertThat(revert.json().get("message").asText()).startsWith("Kafka did not acknowledge");

        for (IngestFixture.Response response : new IngestFixture.Response[] {frontier, connect, kinde, batch, revert}) {
            assertThat(response.body()).as("no exception text").doesNotContain("fake", "Exception");
        }
        assertThat(fixture.get(fixture.api, "/health/ready").status()).isEqualTo(503);
        assertThat(fixture.get(fixture.api, "/health/live").status()).isEqualTo(200);
        assertThat(fixture.get(fixture.api, "/metrics").body()).containsPattern("ingest_produce_errors_total(\\{[^}]*\\})? [1-9]")
                .containsPattern("ingest_events_rejected_total\\{api=\"frontier\",reason=\"unavailable\"\\} 3.0");
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void readyAgainOnceEventsAreStored() {
        fixture.fake.down(true);
        assertThat(fixture.get(fixture.api, "/health/ready").body()).isEqualTo("not ready: Kafka: fake down");
        fixture.fake.down(false);
        assertThat(fixture.get(fixture.api, "/health/ready").status()).isEqualTo(200);
        IngestFixture.Response batch = fixture.post("/v1/events:batch", """
                {"events": [{"event_id": "up-1", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(batch.status()).isEqualTo(200);
    }
}
