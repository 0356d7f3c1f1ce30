package dev.metering.ingest;

import static dev.metering.ingest.IngestFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.SharedKafka;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Operations on a real broker: readiness follows Kafka, and closing answers the requests waiting for Kafka first.
 * Metrics, request ids, rate limits and the document are {@link OperationsTest}'s part.
 */
@ExtendWith(SharedKafka.class)
class OperationsIT {
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
    void healthEndpointsAnswer() {
        assertThat(fixture.get(fixture.api, "/health/live").status()).isEqualTo(200);
        await("ready", () -> fixture.get(fixture.api, "/health/ready").status() == 200);
        assertThat(fixture.get(fixture.api, "/health/ready").body()).isEqualTo("ready");
    }

    @Test
    void closeAnswersTheRequestsInFlightBeforeStopping() throws Exception {
        // a long linger keeps the event in the producer's buffer until close() flushes it
        IngestApiConfig config = fixture.config();
        IngestApi closing = fixture.startApi(config.withLinger(Duration.ofSeconds(20), Duration.ofSeconds(60)));
        long before = fixture.endOffset();
        var response = IngestFixture.HTTP.sendAsync(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + closing.port() + "/v1/events:batch"))
                .header("Content-Type", "application/json").header("X-Api-Key", IngestFixture.API_KEY)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("""
                        {"events": [{"event_id": "in-flight", "billing_account_id": "acct", "feature_code": "f", "quantity": 1}]}"""))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        await("the request waits for Kafka", () -> closing.meterRegistry().get("ingest.kafka.pending.requests").gauge().value() == 1);

        closing.close();

        assertThat(response.get(60, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(fixture.readFrom(before)).extracting(record -> record.value().getEventId()).containsExactly("in-flight");
    }

}
