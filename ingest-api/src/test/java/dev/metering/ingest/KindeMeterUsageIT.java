package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.SharedKafka;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kinde's meter usage on a real broker: an acknowledged request's event is on {@code usage-events} as the exact Avro
 * record; a refused request produces nothing there. The HTTP contract is {@link KindeMeterUsageTest}'s part.
 */
@ExtendWith(SharedKafka.class)
class KindeMeterUsageIT {
    private static final String PATH = "/api/v1/billing/meter_usage";
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
    void producesTheExactAvroRecordWithTheIdempotencyKeyAsEventId() {
        long before = fixture.endOffset();
        Instant usedAt = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MILLIS);
        Instant sent = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        IngestFixture.Response response = fixture.post(PATH, """
                {"customer_agreement_id": "agreement_1", "billing_feature_code": "seats", "meter_value": "12.5",
                 "meter_usage_timestamp": "%s", "meter_type_code": "absolute"}""".formatted(usedAt),
                "Authorization", fixture.bearer(), "Idempotency-Key", "req-77");

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.json().get("code").asText()).isEqualTo("OK");
        assertThat(response.json().get("message").asText()).isEqualTo("Success");
        List<ConsumerRecord<String, UsageEvent>> records = fixture.readFrom(before);
        assertThat(records).hasSize(1);
        assertThat(records.get(0).key()).isEqualTo("agreement_1");
        UsageEvent event = records.get(0).value();
        assertThat(event.getReceivedAt()).isBetween(sent, Instant.now());
        assertThat(event).isEqualTo(UsageEvent.newBuilder()
                .setEventId("req-77").setIdSpace(IdSpace.KINDE).setBillingAccountId("agreement_1").setFeatureCode("seats")
                .setQuantity(new BigDecimal("12.500000000000")).setValueType(ValueType.ABSOLUTE)
                .setEventTime(usedAt).setReceivedAt(event.getReceivedAt()).setOrigin("kinde")
                .build());
    }

    /** A validly signed token whose header was rewritten to alg none: must never pass. */
    private static String algNoneWithSignature() {
        String[] parts = fixture.token(fixture.validClaims().build()).split("\\.");
        return Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + parts[1] + "." + parts[2];
    }

    @Test
    void refusesAnOverlongIdempotencyKey() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, """
                {"customer_agreement_id": "a", "billing_feature_code": "seats", "meter_value": "1"}""",
                "Authorization", fixture.bearer(), "Idempotency-Key", "k".repeat(101));
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("message").asText()).contains("Idempotency-Key header");
        fixture.assertNothingProducedSince(before);
    }
}
