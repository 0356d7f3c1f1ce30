package dev.metering.ingest;

import static dev.metering.ingest.IngestFixture.frontierAuth;
import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Frontier's CreateBillingUsage over HTTP without a broker ({@link FakePublisher}): authentication, every field rule
 * and refusal in grpc-gateway's shape naming the field, the mapping to the exact {@code UsageEvent} on each route, unknown
 * fields, path parameters, body limits. "Produces nothing" means the publisher was given nothing; that a refusal leaves
 * {@code usage-events} untouched and an answer means durable events is {@link FrontierUsageIT}'s part.
 */
class FrontierUsageTest {
    private static final String PATH = "/v1beta1/organizations/org-1/billing/billing-7/usages";
    private static IngestFixture fixture;

    @BeforeAll
    static void start() {
        fixture = IngestFixture.withoutBroker();
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
    void unknownFieldsAreSkippedAsFrontierSkipsThemAndCounted() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, """
                {"added_in_a_newer_frontier": {"a": [1]}, "usages": [{"id": "u-unknown", "source": "calls", "amount": 2, "colour": "red"}]}""",
                "Authorization", frontierAuth());
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        UsageEvent event = fixture.readFrom(before).get(0).value();
        assertThat(event.getEventId()).isEqualTo("u-unknown");
        assertThat(event.getQuantity()).isEqualByComparingTo("2");
        assertThat(event.getMetadata()).isNull();
        assertThat(fixture.get(fixture.api, "/metrics").body()).containsPattern("ingest_unknown_fields_ignored_total\\{api=\"frontier\",?\\} [1-9]");
    }

    @Test
    void theBodyFormNamesOrgAndBillingAccountInTheBody() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post("/v1beta1/organizations/billing/usages", """
                {"orgId": "org-2", "billingId": "billing-9", "usages": [{"id": "u-body", "source": "Calls", "amount": "5", "customer_id": "billing-9"}]}""",
                "Authorization", frontierAuth());
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{}");
        ConsumerRecord<String, UsageEvent> record = fixture.readFrom(before).get(0);
        assertThat(record.key()).isEqualTo("billing-9");
        UsageEvent event = record.value();
        assertThat(event).isEqualTo(UsageEvent.newBuilder()
                .setEventId("u-body").setIdSpace(IdSpace.FRONTIER).setBillingAccountId("billing-9").setOrgId("org-2").setFeatureCode("calls")
                .setQuantity(new BigDecimal("5.000000000000")).setValueType(ValueType.DELTA)
                .setEventTime(event.getReceivedAt()).setEventTimeDefaulted(true).setReceivedAt(event.getReceivedAt()).setUsageType("credit")
                .setOrigin("frontier")
                .build());
    }

    @Test
    void connectCreateBillingUsageProducesTheUsagesAndAnswersEmptyMessage() {
        long before = fixture.endOffset();
        Instant createdAt = Instant.now().minus(3, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
        // what a Frontier client since 2026 sends: no billing_id (Frontier infers the org's account), camelCase names, int64 as a string
        IngestFixture.Response response = fixture.post("/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage", """
                {"orgId": "org-1", "usages": [{"id": "u-connect", "source": "GPU", "amount": "9007199254740993", "type": "feature",
                  "userId": "user-1", "metadata": {"run": "r-7"}, "createdAt": "%s", "someNewField": true}]}""".formatted(createdAt),
                "Authorization", frontierAuth(), "Connect-Protocol-Version", "1");
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.header("Content-Type")).startsWith("application/json");
        assertThat(response.body()).isEqualTo("{}");
        ConsumerRecord<String, UsageEvent> record = fixture.readFrom(before).get(0);
        assertThat(record.key()).isEqualTo("org-1");
        UsageEvent event = record.value();
        assertThat(event).isEqualTo(UsageEvent.newBuilder()
                .setEventId("u-connect").setIdSpace(IdSpace.FRONTIER).setBillingAccountId("org-1").setOrgId("org-1").setFeatureCode("gpu")
                .setQuantity(new BigDecimal("9007199254740993.000000000000")).setValueType(ValueType.DELTA)
                .setEventTime(createdAt).setReceivedAt(event.getReceivedAt()).setUsageType("feature").setUserId("user-1")
                .setMetadata(Map.of("run", "r-7")).setOrigin("frontier")
                .build());
    }

    @Test
    void withoutCreatedAtTheEventTimeIsTheReceiptTime() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, """
                {"usages": [{"id": "u-now", "source": "calls", "amount": 1}]}""", "Authorization", frontierAuth());
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        UsageEvent event = fixture.readFrom(before).get(0).value();
        assertThat(event.getEventTime()).isEqualTo(event.getReceivedAt());
        assertThat(event.getProjectId()).isNull();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no header           | ''                                          | 401 | 16 | missing Authorization header",
            "wrong scheme        | Bearer abc                                  | 401 | 16 | must use the Basic scheme",
            "wrong secret        | Basic ZnJvbnRpZXItYXBwOndyb25n              | 401 | 16 | invalid user name or secret",
            "unknown user        | Basic bm9ib2R5OnMzY3JldDp3aXRoOmNvbG9ucw==  | 401 | 16 | invalid user name or secret",
    })
    void refusesMissingOrWrongCredentialsAndProducesNothing(String name, String authorization, int status, int code, String message) {
        long before = fixture.endOffset();
        String body = """
                {"usages": [{"id": "u-auth", "source": "calls", "amount": 1}]}""";
        IngestFixture.Response response = authorization.isEmpty()
                ? fixture.post(PATH, body)
                : fixture.post(PATH, body, "Authorization", authorization);
        assertThat(response.status()).isEqualTo(status);
        assertThat(response.json().get("code").asInt()).isEqualTo(code);
        assertThat(response.json().get("message").asText()).contains(message);
        assertThat(response.json().get("details").isArray()).isTrue();
        assertThat(response.header("WWW-Authenticate")).startsWith("Basic");
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void aCredentialMayNotWriteForAnotherOrganization() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post("/v1beta1/organizations/org-3/billing/billing-7/usages", """
                {"usages": [{"id": "u-other-org", "source": "calls", "amount": 1}]}""", "Authorization", frontierAuth());
        assertThat(response.status()).isEqualTo(403);
        assertThat(response.json().get("code").asInt()).isEqualTo(7);
        assertThat(response.json().get("message").asText()).contains("org-3");
        fixture.assertNothingProducedSince(before);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "missing id          | {\"usages\": [{\"source\": \"calls\", \"amount\": 1}]}                                  | usages[0].id is required",
            "empty id            | {\"usages\": [{\"id\": \"\", \"source\": \"calls\", \"amount\": 1}]}                    | usages[0].id must not be empty",
            "negative amount     | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": -5}]}                  | usages[0].amount must not be negative",
            "fractional amount   | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1.5}]}                 | usages[0].amount must be a whole number",
            "non-numeric amount  | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": \"lots\"}]}            | usages[0].amount is not a decimal number",
            "NaN amount          | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": \"NaN\"}]}             | usages[0].amount is not a decimal number",
            "39-digit amount     | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 123456789012345678901234567890123456789}]} | usages[0].amount has more than 26 digits",
            "bad type            | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"type\": \"gift\"}]} | usages[0].type must be 'credit' or 'feature'",
            "bad timestamp       | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"created_at\": \"yesterday\"}]} | usages[0].created_at is not an RFC 3339 timestamp",
            "future timestamp    | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"created_at\": \"2999-01-01T00:00:00Z\"}]} | usages[0].created_at is more than PT5M after",
            "too old timestamp   | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"created_at\": \"2001-01-01T00:00:00Z\"}]} | usages[0].created_at is too old",
            "project with org    | {\"project_id\": \"p-1\", \"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1}]} | both project_id and org_id cannot be provided",
            "metadata not object | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"metadata\": \"x\"}]} | usages[0].metadata must be a JSON object",
            "no usages           | {\"usages\": []}                                                                         | usages must hold at least one usage",
            "usages not array    | {\"usages\": {}}                                                                         | usages must be a JSON array",
            "not an object       | [1, 2]                                                                                   | body must be a JSON object",
            "malformed JSON      | {\"usages\": [                                                                           | request body is not valid JSON",
            "duplicate key       | {\"usages\": [], \"usages\": []}                                                         | request body is not valid JSON",
            "good then bad       | {\"usages\": [{\"id\": \"good\", \"source\": \"calls\", \"amount\": 1}, {\"id\": \"bad\", \"source\": \"calls\", \"amount\": -1}]} | usages[1].amount must not be negative",
            "offset with seconds | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1, \"created_at\": \"2025-01-01T00:00:00+00:00:30\"}]} | usages[0].created_at is not an RFC 3339 timestamp",
            "Arabic-Indic digit  | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": \"\u0663\"}]}       | usages[0].amount is not a decimal number",
            "plus sign           | {\"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": \"+1\"}]}           | usages[0].amount is not a decimal number",
            "NUL in source       | {\"usages\": [{\"id\": \"a\", \"source\": \"s\\u0000rc\", \"amount\": 1}]}      | usages[0].source holds a NUL character",
            "lone surrogate      | {\"usages\": [{\"id\": \"s\\ud800x\", \"source\": \"calls\", \"amount\": 1}]}    | usages[0].id holds a lone surrogate",
            "source too long     | {\"usages\": [{\"id\": \"a\", \"source\": \"\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\u0130\", \"amount\": 1}]} | usages[0].source is longer than 100 characters",
            "org mismatch        | {\"org_id\": \"org-2\", \"usages\": [{\"id\": \"a\", \"source\": \"calls\", \"amount\": 1}]} | org_id 'org-2' differs",
    })
    void refusesInvalidRequestsNamingTheFieldAndProducesNothing(String name, String body, String message) {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, body, "Authorization", frontierAuth());
        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("code").asInt()).isEqualTo(3);
        assertThat(response.json().get("message").asText()).contains(message);
        fixture.assertNothingProducedSince(before);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "billingId of 2700   | org-1 | X2700       | billingId is longer than 100 characters",
            "billingId of 210    | org-1 | X210        | billingId is longer than 100 characters",
            "billingId space     | org-1 | %20         | billingId must not be empty",
            "billingId tab       | org-1 | %09         | billingId holds the control character U+0009",
            "billingId em space  | org-1 | %E2%80%83   | billingId must not be empty",
            "billingId NUL-free  | org-1 | a%01b       | billingId holds the control character U+0001",
            "billingId not UTF-8 | org-1 | %ED%A0%80   | billingId is not UTF-8",
            "orgId blank         | %20   | billing-7   | orgId must not be empty",
            "orgId of 210        | X210  | billing-7   | orgId is longer than 100 characters",
    })
    void refusesPathParametersByTheIdentifierRulesAndProducesNothing(String name, String org, String billing, String message) {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post("/v1beta1/organizations/" + expand(org) + "/billing/" + expand(billing) + "/usages", """
                {"usages": [{"id": "u-path", "source": "calls", "amount": 1}]}""", "Authorization", IngestFixture.basic("root", "root-secret"));
        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("code").asInt()).isEqualTo(3);
        assertThat(response.json().get("message").asText()).startsWith(message);
        fixture.assertNothingProducedSince(before);
    }

    private static String expand(String parameter) {
        return parameter.startsWith("X") ? "x".repeat(Integer.parseInt(parameter.substring(1))) : parameter;
    }

    @Test
    void pathParametersAreDecodedAndNormalisedAndTheOrgIsTheTenant() {
        long before = fixture.endOffset();
        // "café" decomposed in the path, composed in the body's customer_id: one account
        IngestFixture.Response response = fixture.post("/v1beta1/organizations/org-2/billing/cafe%CC%81%2B1/usages", """
                {"usages": [{"id": "u-café", "source": "calls", "amount": 1, "customer_id": "café+1"}]}""", "Authorization", frontierAuth());
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        UsageEvent event = fixture.readFrom(before).get(0).value();
        assertThat(event.getBillingAccountId()).isEqualTo("caf\u00e9+1");
        assertThat(event.getOrgId()).isEqualTo("org-2");
        assertThat(event.getIdSpace()).isEqualTo(IdSpace.FRONTIER);
    }

    @Test
    void aRepeatedIdWithinOneRequestIsAConflict() {
        long before = fixture.endOffset();
        IngestFixture.Response response = fixture.post(PATH, """
                {"usages": [{"id": "same", "source": "calls", "amount": 1}, {"id": "same", "source": "calls", "amount": 2}]}""",
                "Authorization", frontierAuth());
        assertThat(response.status()).isEqualTo(409);
        assertThat(response.json().get("code").asInt()).isEqualTo(6);
        assertThat(response.json().get("message").asText()).contains("usages[1].id", "usages[0]");
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void refusesOtherContentTypesAndOversizedBodies() {
        long before = fixture.endOffset();
        IngestFixture.Response wrongType = fixture.post(PATH, "usages=1", "Authorization", frontierAuth(),
                "Content-Type", "application/x-www-form-urlencoded");
        assertThat(wrongType.status()).isEqualTo(415);
        assertThat(wrongType.json().get("message").asText()).contains("Content-Type must be application/json");

        String huge = "{\"usages\": [{\"id\": \"big\", \"source\": \"calls\", \"amount\": 1, \"description\": \"" + "x".repeat(1024 * 1024) + "\"}]}";
        IngestFixture.Response tooLarge = fixture.post(PATH, huge, "Authorization", frontierAuth());
        assertThat(tooLarge.status()).isEqualTo(413);
        assertThat(tooLarge.json().get("code").asInt()).isEqualTo(8);
        assertThat(tooLarge.json().get("message").asText()).contains("larger than 1048576 bytes");
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void refusesAnOversizedBodySentWithoutContentLength() throws Exception {
        long before = fixture.endOffset();
        byte[] huge = ("{\"usages\": [{\"id\": \"chunked\", \"source\": \"calls\", \"amount\": 1, \"description\": \""
                + "x".repeat(2 * 1024 * 1024) + "\"}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + fixture.api.port() + PATH))
                .header("Content-Type", "application/json")
                .header("Authorization", frontierAuth())
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(huge)))
                .build();
        java.net.http.HttpResponse<String> response = IngestFixture.HTTP.send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.body()).contains("larger than 1048576 bytes");
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void unknownPathsAnswerInTheGrpcGatewayShape() {
        IngestFixture.Response response = fixture.post("/v1beta1/organizations/org-1/nothing", "{}", "Authorization", frontierAuth());
        assertThat(response.status()).isEqualTo(404);
        assertThat(response.json().get("code").asInt()).isEqualTo(5);
    }
}
