package dev.metering.ingest;

import static dev.metering.ingest.IngestFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Operations over HTTP without a broker ({@link FakePublisher}): metrics, request ids, the port, the document, rate limits. */
class OperationsTest {
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
    void metricsCountRequestsAndEventsByOutcome() {
        fixture.post("/v1/events:batch", """
                {"events": [{"event_id": "m-1", "billing_account_id": "acct", "feature_code": "f", "quantity": 1},
                            {"event_id": "m-2", "billing_account_id": "acct", "feature_code": "f", "quantity": -1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        fixture.post("/v1/events:batch", "{}", "X-Api-Key", "wrong");

        String metrics = fixture.get(fixture.api, "/metrics").body();
        assertThat(metrics).contains("ingest_events_accepted_total{api=\"batch\"} 1.0");
        assertThat(metrics).contains("ingest_events_rejected_total{api=\"batch\",reason=\"invalid\"} 1.0");
        assertThat(metrics).contains("ingest_events_rejected_total{api=\"batch\",reason=\"unauthenticated\"} 1.0");
        assertThat(metrics).contains("ingest_http_requests_seconds_count{api=\"batch\",status=\"200\"}");
        assertThat(metrics).contains("ingest_http_requests_seconds_count{api=\"batch\",status=\"401\"}");
        assertThat(metrics).doesNotContain(IngestFixture.API_KEY);
    }

    @Test
    void everyResponseCarriesARequestIdTheCallerCanChoose() {
        IngestFixture.Response chosen = fixture.post("/v1/events:batch", "{}", "X-Api-Key", "wrong", "X-Request-Id", "trace-42");
        assertThat(chosen.header("X-Request-Id")).isEqualTo("trace-42");
        IngestFixture.Response hostile = fixture.post("/v1/events:batch", "{}", "X-Api-Key", "wrong", "X-Request-Id", "a b\"}{" + "x".repeat(200));
        assertThat(hostile.header("X-Request-Id")).as("an unsafe id is replaced, never logged").matches("[0-9a-f-]{36}");
        assertThat(fixture.get(fixture.api, "/health/live").headers().keySet().stream().map(String::toLowerCase)).contains("x-request-id");
    }

    @Test
    void startingOnAPortInUseFailsAndTheRunningInstanceKeepsServing() {
        IngestApiConfig samePort = fixture.config().withHttp("127.0.0.1", fixture.api.port());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> fixture.create(samePort).start()).isInstanceOf(RuntimeException.class);
        assertThat(fixture.get(fixture.api, "/health/live").status()).isEqualTo(200);
    }

    @Test
    void servesTheOpenApiDocumentForAllThreeEndpoints() throws Exception {
        IngestFixture.Response response = fixture.get(fixture.api, "/openapi.json");
        assertThat(response.status()).isEqualTo(200);
        JsonNode document = IngestFixture.JSON.readTree(response.body());
        assertThat(document.get("openapi").asText()).startsWith("3.");
        assertThat(document.get("paths").has("/v1beta1/organizations/{orgId}/billing/{billingId}/usages")).isTrue();
        assertThat(document.get("paths").has("/api/v1/billing/meter_usage")).isTrue();
        assertThat(document.get("paths").has("/v1/events:batch")).isTrue();
        assertThat(document.get("paths").has("/v1/events:revert")).isTrue();
    }

    @Test
    void aCredentialOverItsRateLimitGets429WithRetryAfter() {
        IngestApi limited = fixture.startApi(fixture.config().withLimits(1024 * 1024, Duration.ofSeconds(10), 0.01, 2));
        String body = """
                {"customer_agreement_id": "agreement_r", "billing_feature_code": "seats", "meter_value": "1"}""";
        String token = fixture.bearer();
        assertThat(fixture.post(limited, "/api/v1/billing/meter_usage", body, "Authorization", token).status()).isEqualTo(200);
        assertThat(fixture.post(limited, "/api/v1/billing/meter_usage", body, "Authorization", token).status()).isEqualTo(200);
        long before = fixture.endOffset();
        IngestFixture.Response limitedResponse = fixture.post(limited, "/api/v1/billing/meter_usage", body, "Authorization", token);
        assertThat(limitedResponse.status()).isEqualTo(429);
        assertThat(Long.parseLong(limitedResponse.header("Retry-After"))).isBetween(1L, 100L);
        assertThat(limitedResponse.json().get("errors").get(0).get("code").asText()).isEqualTo("TOO_MANY_REQUESTS");
        // another credential has its own bucket
        IngestFixture.Response other = fixture.post(limited, "/v1/events:batch", """
                {"events": [{"event_id": "r-1", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}""",
                "X-Api-Key", IngestFixture.API_KEY);
        assertThat(other.status()).isEqualTo(200);
        assertThat(fixture.readFrom(before)).extracting(record -> record.value().getEventId()).containsExactly("r-1");
    }
}
