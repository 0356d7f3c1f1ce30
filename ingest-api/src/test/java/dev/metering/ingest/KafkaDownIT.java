package dev.metering.ingest;

import static dev.metering.ingest.IngestFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With the broker gone every endpoint answers 503 with Retry-After, never 2xx, and nothing appears later. */
class KafkaDownIT {
    private static IngestFixture fixture;

    @BeforeAll
    static void start() {
        fixture = new IngestFixture();
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void answers503WhileKafkaIsDownAndNothingIsProducedAfterItComesBack() {
        IngestApi shortTimeout = fixture.startApi(fixture.config().withLimits(1024 * 1024, Duration.ofSeconds(2), 1000, 2000));
        await("ready", () -> fixture.get(shortTimeout, "/health/ready").status() == 200);
        // a first acknowledged request, so the producer has metadata and a connection when the broker goes away
        IngestFixture.Response warm = fixture.post(shortTimeout, "/v1/events:batch", """
                {"events": [{"event_id": "warm", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(warm.status()).isEqualTo(200);
        long before = fixture.endOffset();

        fixture.kafka.stop();
        try {
            IngestFixture.Response frontier = fixture.post(shortTimeout, "/v1beta1/organizations/org-1/billing/b-1/usages", """
                    {"usages": [{"id": "down-1", "source": "calls", "amount": 1}, {"id": "down-2", "source": "calls", "amount": 2}]}""",
                    "Authorization", IngestFixture.frontierAuth());
            assertThat(frontier.status()).as(frontier.body()).isEqualTo(503);
            assertThat(frontier.header("Retry-After")).isEqualTo("1");
            assertThat(frontier.json().get("code").asInt()).isEqualTo(14);
            assertThat(frontier.json().get("message").asText()).contains("Kafka did not acknowledge");

            IngestFixture.Response kinde = fixture.post(shortTimeout, "/api/v1/billing/meter_usage", """
                    {"customer_agreement_id": "a-1", "billing_feature_code": "seats", "meter_value": "1"}""",
                    "Authorization", fixture.bearer());
            assertThat(kinde.status()).isEqualTo(503);
            assertThat(kinde.header("Retry-After")).isNotBlank();
            assertThat(kinde.json().get("errors").get(0).get("code").asText()).isEqualTo("SERVICE_UNAVAILABLE");

            IngestFixture.Response batch = fixture.post(shortTimeout, "/v1/events:batch", """
                    {"events": [{"event_id": "down-3", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                    "X-Api-Key", IngestFixture.API_KEY);
            assertThat(batch.status()).isEqualTo(503);
            assertThat(batch.json().get("code").asText()).isEqualTo("UNAVAILABLE");

            await("not ready", () -> fixture.get(shortTimeout, "/health/ready").status() == 503);
            assertThat(fixture.get(shortTimeout, "/health/live").status()).isEqualTo(200);
            assertThat(fixture.get(shortTimeout, "/metrics").body()).contains("ingest_produce_errors_total");
        } finally {
            fixture.kafka.restart();
        }

        await("ready again", () -> fixture.get(shortTimeout, "/health/ready").status() == 200);
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void anInstanceThatNeverReachedKafkaAnswers503() {
        IngestApiConfig unreachable = new IngestApiConfig("127.0.0.1", 0, "127.0.0.1:" + unusedPort(), fixture.registryUrl,
                1024 * 1024, Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofSeconds(2), Duration.ofMillis(5),
                fixture.config().frontierCredentials(), fixture.config().kinde(), fixture.config().apiKeys(), 1000, 2000, null, null);
        IngestApi api = fixture.startApi(unreachable);
        IngestFixture.Response response = fixture.post(api, "/v1/events:batch", """
                {"events": [{"event_id": "never", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(response.status()).isEqualTo(503);
        assertThat(response.header("Retry-After")).isEqualTo("1");
        assertThat(fixture.get(api, "/health/ready").status()).isEqualTo(503);
    }

    private static int unusedPort() {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
