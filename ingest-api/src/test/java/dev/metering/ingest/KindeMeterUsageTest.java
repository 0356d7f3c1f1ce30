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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Kinde's meter usage over HTTP without a broker ({@link FakePublisher}): tokens, ids, tenants, every field rule and
 * refusal in Kinde's shape; "produces nothing" means the publisher was given nothing. The broker's part is
 * {@link KindeMeterUsageIT}.
 */
class KindeMeterUsageTest {
    private static final String PATH = "/api/v1/billing/meter_usage";
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
    void threeIdenticalRequestsWithoutIdempotencyKeyAreThreeUsagesWithDistinctIds() {
        long before = fixture.endOffset();
        String body = """
                {"customer_agreement_id": "agreement_2", "billing_feature_code": "api_calls", "meter_value": "1"}""";
        for (int i = 0; i < 3; i++) {
            IngestFixture.Response response = fixture.post(PATH, body, "Authorization", fixture.bearer());
            assertThat(response.status()).as(response.body()).isEqualTo(200);
        }

        List<ConsumerRecord<String, UsageEvent>> records = fixture.readFrom(before);
        assertThat(records).hasSize(3);
        List<String> ids = records.stream().map(record -> record.value().getEventId()).toList();
        assertThat(ids).doesNotHaveDuplicates().isSorted().allSatisfy(id -> assertThat(UUID.fromString(id).version()).isEqualTo(7));
        assertThat(records).allSatisfy(record -> {
            assertThat(record.value().getIdSpace()).isEqualTo(IdSpace.KINDE);
            assertThat(record.value().getQuantity()).isEqualByComparingTo("1");
        });
    }

    @Test
    void requestsWithTheSameIdempotencyKeyCarryTheSameIdInNormalForm() {
        long before = fixture.endOffset();
        String body = """
                {"customer_agreement_id": "agreement_2", "billing_feature_code": "api_calls", "meter_value": "1"}""";
        // the key decomposed (e + combining acute) and composed: one identifier
        for (String key : new String[] {"retry-cafe\u0301", "retry-caf\u00e9", "retry-caf\u00e9"}) {
            // raw UTF-8 bytes on the wire (HttpClient sends only ASCII header values)
            IngestFixture.Response response = fixture.postRaw(fixture.api, PATH, List.of(
                    IngestFixture.headerLine("Authorization", fixture.bearer().getBytes(java.nio.charset.StandardCharsets.US_ASCII)),
                    IngestFixture.headerLine("Idempotency-Key", key.getBytes(java.nio.charset.StandardCharsets.UTF_8))), body);
            assertThat(response.status()).as(response.body()).isEqualTo(200);
        }
        assertThat(fixture.readFrom(before)).extracting(record -> record.value().getEventId())
                .containsExactly("retry-caf\u00e9", "retry-caf\u00e9", "retry-caf\u00e9");
    }

    @Test
    void tokensActForTheConfiguredOrganizationOrTheirOrgClaim() {
        IngestApiConfig config = fixture.config();
        IngestApi fixedOrg = fixture.startApi(config.withCredentials(config.frontierCredentials(), config.kinde().withOrg("org-kinde", null), config.apiKeys()));
        IngestApi byClaim = fixture.startApi(config.withCredentials(config.frontierCredentials(), config.kinde().withOrg(null, "org_code"), config.apiKeys()));
        String body = """
                {"customer_agreement_id": "agreement_t", "billing_feature_code": "seats", "meter_value": "1"}""";
        String withClaim = "Bearer " + fixture.token(fixture.validClaims().claim("org_code", "org_123").build());
        long before = fixture.endOffset();

        assertThat(fixture.post(PATH, body, "Authorization", withClaim).status()).isEqualTo(200);
        assertThat(fixture.post(fixedOrg, PATH, body, "Authorization", withClaim).status()).isEqualTo(200);
        assertThat(fixture.post(byClaim, PATH, body, "Authorization", withClaim).status()).isEqualTo(200);
        IngestFixture.Response noClaim = fixture.post(byClaim, PATH, body, "Authorization", fixture.bearer());
        assertThat(noClaim.status()).isEqualTo(403);
        assertThat(noClaim.json().get("errors").get(0).get("code").asText()).isEqualTo("FORBIDDEN");
        assertThat(noClaim.json().get("errors").get(0).get("message").asText()).isEqualTo("token has no org_code claim naming its organization");

        assertThat(fixture.readFrom(before)).extracting(record -> record.value().getOrgId())
                .as("default tenant, configured org, the token's claim").containsExactly(null, "org-kinde", "org_123");
    }

    @Test
    void acceptsThePermissionInThePermissionsClaim() {
        String token = fixture.token(fixture.validClaims().claim("scp", null).claim("permissions", List.of("read:x", "create:meter_usage")).build());
        IngestFixture.Response response = fixture.post(PATH, """
                {"customer_agreement_id": "agreement_3", "billing_feature_code": "seats", "meter_value": "1"}""",
                "Authorization", "Bearer " + token);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
    }

    @Test
    void refusesTokensThatAreMissingForgedExpiredOrForSomeoneElse() throws Exception {
        RSAKey otherKey = new RSAKeyGenerator(2048).keyID("test-key").generate();
        String[][] cases = {
                {"", "401", "missing Authorization header"},
                {"Basic abc", "401", "must use the Bearer scheme"},
                {"Bearer not-a-jwt", "401", "not a valid JWT"},
                {"Bearer " + IngestFixture.sign(fixture.validClaims().build(), otherKey), "401", "invalid bearer token"},
                {"Bearer " + fixture.token(fixture.validClaims().expirationTime(Date.from(Instant.now().minusSeconds(600))).build()), "401", "it has expired"},
                {"Bearer " + fixture.token(fixture.validClaims().expirationTime(null).build()), "401", "exp"},
                {"Bearer " + fixture.token(fixture.validClaims().issuer("https://evil.example").build()), "401", "iss"},
                {"Bearer " + fixture.token(fixture.validClaims().audience("https://other.api").build()), "401", "audience"},
                {"Bearer " + new PlainJWT(fixture.validClaims().build()).serialize(), "401", "invalid bearer token"},
                {"Bearer " + algNoneWithSignature(), "401", "not a valid JWT"},
                {"Bearer " + fixture.token(fixture.validClaims().claim("scp", List.of("read:usage")).build()), "403", "create:meter_usage"},
        };
        String body = """
                {"customer_agreement_id": "agreement_x", "billing_feature_code": "seats", "meter_value": "1"}""";
        for (String[] testCase : cases) {
            long before = fixture.endOffset();
            IngestFixture.Response response = testCase[0].isEmpty()
                    ? fixture.post(PATH, body)
                    : fixture.post(PATH, body, "Authorization", testCase[0]);
            assertThat(response.status()).as(testCase[2] + ": " + response.body()).isEqualTo(Integer.parseInt(testCase[1]));
            assertThat(response.json().get("errors").get(0).get("code").asText())
                    .isEqualTo(testCase[1].equals("401") ? "UNAUTHORIZED" : "FORBIDDEN");
            assertThat(response.json().get("errors").get(0).get("message").asText()).as(testCase[2]).contains(testCase[2]);
            fixture.assertNothingProducedSince(before);
        }
    }

    /** A validly signed token whose header was rewritten to alg none: must never pass. */
    private static String algNoneWithSignature() {
        String[] parts = fixture.token(fixture.validClaims().build()).split("\\.");
        return Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + parts[1] + "." + parts[2];
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing agreement     | {\"billing_feature_code\": \"seats\", \"meter_value\": \"1\"}                                         | customer_agreement_id is required",
            "empty feature         | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"\", \"meter_value\": \"1\"}            | billing_feature_code must not be empty",
            "missing value         | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\"}                               | meter_value is required",
            "non-numeric value     | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"ten\"}     | meter_value is not a decimal number",
            "Infinity              | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"Infinity\"} | meter_value is not a decimal number",
            "negative value        | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"-1\"}      | meter_value must not be negative",
            "13 decimals           | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"0.0000000000001\"} | meter_value has more than 12 digits after the decimal point",
            "bad type code         | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"1\", \"meter_type_code\": \"total\"} | meter_type_code must be 'absolute' or 'delta'",
            "future timestamp      | {\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"1\", \"meter_usage_timestamp\": \"2999-01-01T00:00:00Z\"} | meter_usage_timestamp is more than PT5M after",
            "camelCase is unknown  | {\"customerAgreementId\": \"a\", \"billing_feature_code\": \"seats\", \"meter_value\": \"1\"}          | customerAgreementId is not a known field",
    })
    void refusesInvalidRequestsInKindeShapeAndProducesNothing(String name, String body, String message) {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, body, "Authorization", fixture.bearer());
        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("errors").get(0).get("code").asText()).isEqualTo("BAD_REQUEST");
        assertThat(response.json().get("errors").get(0).get("message").asText()).contains(message);
        fixture.assertNothingProducedSince(before);
    }

}
