package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generated malformed and hostile requests, at least 500 per endpoint, from fixed seeds so a failure
 * reproduces. Each request carries hostile strings (SQL, control characters, lone surrogates, RTL marks,
 * emoji, huge text) and at least one defect that makes it invalid; every one must get a 4xx in the API's
 * own error shape with a message, never a 5xx, and nothing may be published ({@link FakePublisher}: no broker). The service must stay
 * healthy and still accept a valid request afterwards.
 *
 * <p>Many defects are the request's only problem, so the rule behind them is what refuses it: identifiers
 * (body fields, Frontier path parameters, the Idempotency-Key header) holding NUL, lone surrogates, control
 * characters, blank or over 100 characters (after normalisation and lower-casing); quantities that are not
 * ASCII decimals; times that are not RFC 3339. Frontier's RevertBillingUsage routes get the same treatment (amounts,
 * org / billing / usage ids in the path or the body, Idempotency-Key bytes, credentials). Decomposed Unicode is not a defect: it is normalised (last test).
 */
class HostileInputTest {
    private static final int CASES_PER_ENDPOINT = 520;
    private static final String[] HOSTILE = {
        "'; DROP TABLE usage_rollups; --", "\" OR 1=1 --", "Robert'); DELETE FROM sink_offsets;--",
        "\u0000nul", "bell\u0007", "line\nbreak", "\u202Eevil\u202C", "\uD83D\uDE80rocket", "\uFEFFbom",
        "\u00e9\u0301", "%00%0a", "../../etc/passwd", "${jndi:ldap://x/a}", "<script>alert(1)</script>", "\uD800"
    };

    private static IngestFixture fixture;
    private static IngestApi api;
    private static RSAKey otherKey;

    @BeforeAll
    static void start() throws JOSEException {
        fixture = IngestFixture.withoutBroker();
        IngestApiConfig config = fixture.config();
        // No rate limit: every request must meet the validation, not a 429.
        api = fixture.startApi(config.withLimits(config.maxBodyBytes(), config.deliveryTimeout(), 0, 1));
        otherKey = new RSAKeyGenerator(2048).keyID("test-key").generate();
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    /** Identifiers every API must refuse, each the only defect of its request. */
    private static final String[] BAD_IDENTIFIERS = {
        "a\u0000b", "s\uD800x", "x\uDC00", "\uDBFF", "c\u0001d", "tab\there", "line\nbreak", "del\u007F", "nel\u0085",
        "x".repeat(101), "x".repeat(210), "x".repeat(2_700), "e\u0301".repeat(101), "", " ", "\t", "\u2003", "\u00A0", " lead", "trail ",
    };
    /** Quantities every API must refuse: not ASCII decimals in JSON's number grammar. */
    private static final String[] BAD_NUMBERS = {"\u0663", "\uFF11", "+1", " 1", "1 ", "1.", ".5", "1e", "0x10", "1,5", "\u00BD", "1_000", "\u0661\u0662"};
    /** Times that are not RFC 3339. */
    private static final String[] BAD_TIMES = {
        "2025-01-01T00:00:00+00:00:30", "2025-01-01T00:00Z", "2025-01-01", "2025-01-01T00:00:00", "\uFF12025-01-01T00:00:00Z",
        "2025-13-01T00:00:00Z", "2025-01-01T24:00:00Z", "2025-01-01T00:00:00+24:00", "1735689600",
    };
    /** Frontier path parameters (raw, as they appear in the URI) that decode to an invalid identifier or do not decode. */
    private static final String[] BAD_PATH_PARAMETERS = {
        "x".repeat(2_700), "x".repeat(210), "x".repeat(101), "%20", "%09", "%E2%80%83", "%C2%A0", "%20x", "x%20", "%00", "a%00b", "%01",
        "%7F", "%C2%85", "%ED%A0%80", "%C3", "%C3%28", "%FF", "%E2%80", "e%CC%81".repeat(101),
    };
    /** Frontier path parameters only a raw request can carry (an HTTP client refuses to send them). */
    private static final String[] BAD_RAW_PATH_PARAMETERS = {"%ZZ", "%", "%0", "%00", "a%00b", "%u0041", "%%41"};
    /** Idempotency-Key values as bytes on the wire that are no identifier (or not UTF-8, or too large for any server). */
    private static final byte[][] BAD_HEADER_BYTES = {
        "k".repeat(2_700).getBytes(StandardCharsets.UTF_8), "k".repeat(210).getBytes(StandardCharsets.UTF_8),
        "k".repeat(101).getBytes(StandardCharsets.UTF_8), "k".repeat(20_000).getBytes(StandardCharsets.UTF_8),
        {(byte) 0xA0}, {(byte) 0xA0, 'k'}, {'a', (byte) 0x85, 'b'}, {'k', (byte) 0xED, (byte) 0xA0, (byte) 0x80}, {'k', (byte) 0xC3},
        "\u00A0k".getBytes(StandardCharsets.UTF_8), "a\u0085b".getBytes(StandardCharsets.UTF_8), "k\u2003".getBytes(StandardCharsets.UTF_8),
        "\u2003".getBytes(StandardCharsets.UTF_8), {'a', 0x01, 'b'}, {'a', 0x7F, 'b'}, {'a', 0, 'b'},
        ("e\u0301".repeat(101)).getBytes(StandardCharsets.UTF_8),
    };

    /** A request; with {@code rawHeaders} it is written on a socket as given (path and header bytes untouched). */
    record Attempt(String description, String path, String body, String contentType, String[] headers, List<byte[]> rawHeaders) {
        Attempt(String description, String body, String contentType, String[] headers) {
            this(description, null, body, contentType, headers, null);
        }
    }

    static List<byte[]> raw(String... headers) {
        List<byte[]> lines = new ArrayList<>();
        for (int i = 0; i < headers.length; i += 2) {
            lines.add(IngestFixture.headerLine(headers[i], headers[i + 1].getBytes(StandardCharsets.UTF_8)));
        }
        return lines;
    }

    @Test
    void everyHostileRequestGetsAClear4xxAndNothingIsProduced() {
        long before = fixture.endOffset();

        List<String> failures = new ArrayList<>();
        run("frontier", 11, HostileInputTest::frontier, this::checkFrontier, failures);
        run("frontier body form", 14, random -> frontierInBody(random, "/v1beta1/organizations/billing/usages"), this::checkFrontier, failures);
        run("frontier connect", 15, random -> frontierInBody(random, "/raystack.frontier.v1beta1.FrontierService/CreateBillingUsage"),
                this::checkConnect, failures);
        run("frontier revert", 16, random -> frontierRevert(random, null), this::checkFrontier, failures);
        run("frontier revert body form", 17, random -> frontierRevert(random, "/v1beta1/organizations/billing/usages/revert"), this::checkFrontier, failures);
        run("frontier revert connect", 18, random -> frontierRevert(random, "/raystack.frontier.v1beta1.AdminService/RevertBillingUsage"),
                this::checkConnect, failures);
        run("kinde", 12, HostileInputTest::kinde, this::checkKinde, failures);
        run("batch", 13, HostileInputTest::batch, this::checkBatch, failures);
        assertThat(failures).as("requests answered wrongly").isEmpty();

        assertThat(fixture.get(api, "/health/ready").status()).isEqualTo(200);
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void bodiesTheJsonParserRefusesAreAnsweredInOurWordsNeverTheLibrarys() {
        String nested = "[".repeat(5_000) + "]".repeat(5_000);
        String longNumber = "{\"events\": [{\"quantity\": " + "9".repeat(5_000) + "}]}";
        long before = fixture.endOffset();
        for (String body : new String[] {nested, longNumber, "{\"a\": 1, \"a\": 2}", "{\"a\": ", "{} x", "\u0000"}) {
            for (String[] endpoint : new String[][] {
                    {"/v1beta1/organizations/org-1/billing/acct-1/usages", "Authorization", IngestFixture.frontierAuth()},
                    {"/api/v1/billing/meter_usage", "Authorization", fixture.bearer()},
                    {"/v1/events:batch", "X-Api-Key", IngestFixture.API_KEY}}) {
                IngestFixture.Response response = fixture.post(api, endpoint[0], body, endpoint[1], endpoint[2]);
                assertThat(response.status()).as(endpoint[0] + " " + abbreviate(body)).isEqualTo(400);
                assertThat(response.body()).as(endpoint[0] + " " + abbreviate(body)).contains("request body is not")
                        .doesNotContainIgnoringCase("StreamReadConstraints").doesNotContainIgnoringCase("jackson")
                        .doesNotContain("com.fasterxml").doesNotContainIgnoringCase("exception").doesNotContain("Source:");
            }
        }
        fixture.assertNothingProducedSince(before);
    }

    @Test
    void decomposedUnicodeIsNormalisedNotRefusedOnEveryEndpoint() {
        String decomposed = "cafe\u0301";
        String composed = "caf\u00e9";
        long before = fixture.endOffset();
        IngestFixture.Response frontier = fixture.post(api, "/v1beta1/organizations/org-1/billing/acct-cafe%CC%81/usages", """
                {"usages": [{"id": "%s-f", "source": "%s", "amount": 1, "customer_id": "acct-%s"}]}""".formatted(decomposed, "API_" + decomposed, composed),
                "Authorization", IngestFixture.frontierAuth());
        assertThat(frontier.status()).as(frontier.body()).isEqualTo(200);
        IngestFixture.Response kinde = fixture.post(api, "/api/v1/billing/meter_usage", """
                {"customer_agreement_id": "acct-%s", "billing_feature_code": "%s", "meter_value": "1"}""".formatted(decomposed, decomposed),
                "Authorization", fixture.bearer());
        assertThat(kinde.status()).as(kinde.body()).isEqualTo(200);
        List<byte[]> keyHeaders = raw("Authorization", fixture.bearer(), "Idempotency-Key", "key-" + decomposed);
        IngestFixture.Response kindeKey = fixture.postRaw(api, "/api/v1/billing/meter_usage", keyHeaders, """
                {"customer_agreement_id": "acct-%s", "billing_feature_code": "%s", "meter_value": "1"}""".formatted(composed, composed));
        assertThat(kindeKey.status()).as(kindeKey.body()).isEqualTo(200);
        IngestFixture.Response batch = fixture.post(api, "/v1/events:batch", """
                {"events": [{"event_id": "%s-b", "billing_account_id": "acct-%s", "feature_code": "%s", "quantity": "1"}]}"""
                .formatted(decomposed, decomposed, decomposed), "X-Api-Key", IngestFixture.API_KEY);
        assertThat(batch.json().get("accepted").asInt()).as(batch.body()).isEqualTo(1);
        assertThat(batch.json().get("results").get(0).get("event_id").asText()).isEqualTo(composed + "-b");

        List<dev.metering.avro.UsageEvent> events = fixture.readFrom(before).stream().map(record -> record.value()).toList();
        assertThat(events).extracting(dev.metering.avro.UsageEvent::getBillingAccountId).containsOnly("acct-" + composed);
        assertThat(events).extracting(dev.metering.avro.UsageEvent::getFeatureCode).containsExactly("api_" + composed, composed, composed, composed);
        assertThat(events.get(0).getEventId()).isEqualTo(composed + "-f");
        assertThat(events.get(2).getEventId()).as("the header's UTF-8 bytes, normalised").isEqualTo("key-" + composed);
        assertThat(events.get(3).getEventId()).isEqualTo(composed + "-b");
    }

    private interface Check {
        String problem(IngestFixture.Response response);
    }

    private void run(String endpoint, long seed, Function<Random, Attempt> generator, Check check, List<String> failures) {
        Random random = new Random(seed);
        for (int i = 0; i < CASES_PER_ENDPOINT; i++) {
            Attempt attempt = generator.apply(random);
            String[] headers = new String[attempt.headers().length + 2];
            System.arraycopy(attempt.headers(), 0, headers, 0, attempt.headers().length);
            headers[headers.length - 2] = "Content-Type";
            headers[headers.length - 1] = attempt.contentType();
            String target = attempt.path() != null ? attempt.path() : path(endpoint);
            IngestFixture.Response response = attempt.rawHeaders() != null
                    ? fixture.postRaw(api, target, attempt.rawHeaders(), attempt.body())
                    : fixture.post(api, target, attempt.body(), headers);
            String problem = check.problem(response);
            if (problem != null) {
                failures.add(endpoint + " #" + i + " (" + attempt.description() + "): " + problem + " -> " + response.status() + " " + abbreviate(response.body()));
            }
        }
    }

    private static String path(String endpoint) {
        return switch (endpoint) {
            case "frontier" -> "/v1beta1/organizations/org-1/billing/acct-1/usages";
            case "kinde" -> "/api/v1/billing/meter_usage";
            default -> "/v1/events:batch";
        };
    }

    // ---- the answers

    private String checkFrontier(IngestFixture.Response response) {
        if (response.status() < 400 || response.status() >= 500) {
            return "not a 4xx";
        }
        JsonNode json = response.json();
        if (json == null || !json.path("code").isInt() || json.path("message").asText().isBlank() || !json.path("details").isArray()) {
            return "not the grpc-gateway error shape";
        }
        return null;
    }

    private String checkConnect(IngestFixture.Response response) {
        if (response.status() < 400 || response.status() >= 500) {
            return "not a 4xx";
        }
        JsonNode json = response.json();
        if ((response.status() == 431 || response.status() == 400) && json != null && json.path("details").isArray() && json.path("errors").isArray()) {
            // refused by Jetty while parsing the headers (oversized: 431; a NUL byte in a header: 400), before any route
            // is known: the combined shape (README), whose numeric code a Connect client cannot read, so it falls back to the status
            return null;
        }
        if (json == null || !json.path("code").isTextual() || !json.path("code").asText().matches("[a-z_]+") || json.path("message").asText().isBlank()) {
            return "not Connect's error shape";
        }
        return null;
    }

    private String checkKinde(IngestFixture.Response response) {
        if (response.status() < 400 || response.status() >= 500) {
            return "not a 4xx";
        }
        JsonNode errors = response.json() == null ? null : response.json().path("errors");
        if (errors == null || !errors.isArray() || errors.isEmpty() || errors.get(0).path("code").asText().isBlank()
                || errors.get(0).path("message").asText().isBlank()) {
            return "not Kinde's error shape";
        }
        return null;
    }

    private String checkBatch(IngestFixture.Response response) {
        JsonNode json = response.json();
        if (response.status() == 200) {
            // A well-formed batch of events that are each invalid: answered per event, none accepted.
            if (json == null || json.path("accepted").asInt(-1) != 0 || json.path("results").isEmpty()) {
                return "200 with accepted events";
            }
            for (JsonNode result : json.path("results")) {
                if (!"invalid".equals(result.path("status").asText()) || result.path("reason").asText(result.path("message").asText()).isBlank()) {
                    return "a result that is not invalid with a reason: " + result;
                }
            }
            return null;
        }
        if (response.status() < 400 || response.status() >= 500) {
            return "not a 4xx";
        }
        if (json == null || json.path("code").asText().isBlank() || json.path("message").asText().isBlank()) {
            return "not the batch error shape";
        }
        return null;
    }

    // ---- the requests

    private static Attempt frontier(Random random) {
        ObjectNode usage = IngestFixture.JSON.createObjectNode()
                .put("id", hostile(random))
                .put("source", hostile(random))
                .put("amount", random.nextInt(1000))
                .put("description", hostile(random))
                .put("user_id", hostile(random));
        String[] auth = {"Authorization", IngestFixture.frontierAuth()};
        String defect;
        String org = "org-1";
        String billing = "acct-1";
        int roll = random.nextInt(26);
        if (roll >= 16) { // a clean usage whose only defect is one of the shared rules
            usage.removeAll();
            usage.put("id", "u-" + random.nextInt(1_000_000)).put("source", "api_calls").put("amount", 1 + random.nextInt(1000));
        }
        switch (roll) {
            case 0 -> { usage.put("amount", -1 - random.nextInt(1000)); defect = "negative amount"; }
            case 1 -> { usage.put("amount", random.nextDouble() + 0.01); defect = "fractional amount"; }
            case 2 -> { usage.put("amount", hostile(random)); defect = "amount not a number"; }
            case 3 -> { usage.putRawValue("amount", new com.fasterxml.jackson.databind.util.RawValue(hugeNumber(random))); defect = "huge amount"; }
            case 4 -> { usage.remove("id"); defect = "no id"; }
            case 5 -> { usage.put("id", "x".repeat(101 + random.nextInt(10_000))); defect = "id too long"; }
            case 6 -> { // Frontier skips unknown fields (protojson DiscardUnknown): they are no defect, the amount is
                usage.put(hostile(random) + "_unknown", 1).put("amount", -1 - random.nextInt(1000));
                defect = "unknown field (skipped) and a negative amount";
            }
            case 7 -> { usage.put("created_at", hostile(random)); defect = "bad created_at"; }
            case 8 -> { usage.put("created_at", Instant.now().plus(Duration.ofDays(1 + random.nextInt(100))).toString()); defect = "future created_at"; }
            case 9 -> { usage.put("type", hostile(random)); defect = "bad type"; }
            case 10 -> { usage.putArray("metadata").add(hostile(random)); defect = "metadata not an object"; }
            case 11 -> { auth = new String[] {"Authorization", IngestFixture.basic(IngestFixture.FRONTIER_USER, hostile(random))}; defect = "wrong secret"; }
            case 12 -> { auth = new String[0]; defect = "no auth"; }
            case 13 -> { auth = new String[] {"Authorization", "Bearer " + hostile(random).replaceAll("[^\\x21-\\x7e]", "x")}; defect = "wrong scheme"; }
            case 14 -> { usage.put("amount", "NaN"); defect = "NaN"; }
            case 15 -> { usage.remove("source"); defect = "no source"; }
            case 16, 17 -> {
                String field = pick(random, "id", "source", "customer_id");
                String value = pick(random, BAD_IDENTIFIERS);
                if (field.equals("customer_id") && value.isEmpty()) {
                    value = " "; // protojson: an empty string is an absent field, not a defect
                }
                usage.put(field, value);
                defect = "bad identifier in " + field + ": " + visible(value);
            }
            case 18 -> { usage.put("source", "\u0130".repeat(51 + random.nextInt(50))); defect = "source over 100 characters once lower-cased"; }
            case 19 -> { String value = pick(random, BAD_NUMBERS); usage.put("amount", value); defect = "amount " + visible(value); }
            case 20 -> { String value = pick(random, BAD_TIMES); usage.put("created_at", value); defect = "created_at " + visible(value); }
            case 21, 22 -> {
                String value = pick(random, BAD_PATH_PARAMETERS);
                if (random.nextBoolean()) {
                    org = value;
                    defect = "orgId " + abbreviate(value);
                } else {
                    billing = value;
                    defect = "billingId " + abbreviate(value);
                }
            }
            case 23 -> {
                auth = new String[] {"Authorization", IngestFixture.frontierAuth(), "X-Request-Id", "x".repeat(2_700)};
                usage.put("id", pick(random, BAD_IDENTIFIERS));
                defect = "oversized X-Request-Id and a bad id";
            }
            case 24 -> {
                String value = pick(random, BAD_RAW_PATH_PARAMETERS);
                ObjectNode body = IngestFixture.JSON.createObjectNode();
                body.putArray("usages").add(usage);
                String path = random.nextBoolean() ? "/v1beta1/organizations/" + value + "/billing/acct-1/usages"
                        : "/v1beta1/organizations/org-1/billing/" + value + "/usages";
                return new Attempt("frontier raw path " + path, path, asciiJson(body), "application/json", new String[0],
                        raw("Authorization", IngestFixture.frontierAuth()));
            }
            default -> {
                ObjectNode body = IngestFixture.JSON.createObjectNode();
                body.putArray("usages").add(usage);
                return new Attempt("frontier oversized Authorization", path("frontier"), asciiJson(body), "application/json", new String[0],
                        raw("Authorization", "Basic " + "A".repeat(20_000 + random.nextInt(10_000))));
            }
        }
        ObjectNode body = IngestFixture.JSON.createObjectNode();
        body.putArray("usages").add(usage);
        Attempt attempt = finish(random, "frontier " + defect, asciiJson(body), auth);
        return new Attempt(attempt.description(), "/v1beta1/organizations/" + org + "/billing/" + billing + "/usages", attempt.body(),
                attempt.contentType(), attempt.headers(), null);
    }

    /**
     * RevertBillingUsage: on the path form ({@code route} null) org, billing account and usage in the path and the amount
     * in the body; on the body form and Connect all four in the body. Each attempt has at least one defect, so no revert
     * reaches the topic.
     */
    private static Attempt frontierRevert(Random random, String route) {
        String org = "org-1";
        String billing = "acct-1";
        String usage = "u-" + random.nextInt(1_000_000);
        ObjectNode body = IngestFixture.JSON.createObjectNode().put("amount", String.valueOf(1 + random.nextInt(1000)));
        String[] auth = {"Authorization", IngestFixture.frontierAuth(), "Idempotency-Key", "r-" + random.nextInt(1_000_000)};
        boolean inPath = route == null;
        String defect;
        switch (random.nextInt(16)) {
            case 0 -> { body.put("amount", -1 - random.nextInt(1000)); defect = "negative amount"; }
            case 1 -> { body.put("amount", random.nextDouble() + 0.01); defect = "fractional amount"; }
            case 2 -> { body.put("amount", hostile(random)); defect = "amount not a number"; }
            case 3 -> { body.putRawValue("amount", new com.fasterxml.jackson.databind.util.RawValue(hugeNumber(random))); defect = "huge amount"; }
            case 4 -> { body.put("amount", random.nextBoolean() ? "0" : "NaN"); defect = "zero or NaN amount"; }
            case 5 -> { String value = pick(random, BAD_NUMBERS); body.put("amount", value); defect = "amount " + visible(value); }
            case 6 -> { body.remove("amount"); body.put(hostile(random) + "_unknown", 1); defect = "no amount (an unknown field is skipped)"; }
            case 7 -> { auth = new String[] {"Authorization", IngestFixture.basic(IngestFixture.FRONTIER_USER, hostile(random))}; defect = "wrong secret"; }
            case 8 -> { auth = new String[0]; defect = "no auth"; }
            case 9 -> { org = "org-" + hostile(random).replaceAll("[^a-z0-9]", "") + "-other"; defect = "org not bound"; }
            case 10, 11 -> {
                String value = pick(random, BAD_IDENTIFIERS);
                if (value.isEmpty()) {
                    value = " "; // protojson: an empty string is an absent field
                }
                if (inPath && value.chars().anyMatch(c -> Character.isSurrogate((char) c))) {
                    value = "x".repeat(101); // a lone surrogate has no UTF-8 form for a path: it would arrive as a valid '?'
                }
                switch (random.nextInt(3)) {
                    case 0 -> org = value;
                    case 1 -> billing = value;
                    default -> usage = value;
                }
                defect = "bad identifier " + visible(value);
            }
            case 12 -> {
                if (!inPath) {
                    body.put("project_id", hostile(random));
                    defect = "project_id with org_id";
                } else {
                    body.put("usage_id", "other-" + random.nextInt(1000));
                    defect = "usage_id differs from the path";
                }
            }
            case 13 -> { usage = null; body.put("amount", "-1"); defect = "no usage_id (body) or a negative amount"; }
            case 14 -> {
                byte[] value = BAD_HEADER_BYTES[random.nextInt(BAD_HEADER_BYTES.length)];
                List<byte[]> headers = raw("Authorization", IngestFixture.frontierAuth());
                headers.add(IngestFixture.headerLine("Idempotency-Key", value));
                if (!inPath) {
                    body.put("org_id", org).put("billing_id", billing).put("usage_id", usage);
                }
                return new Attempt("revert Idempotency-Key bytes " + abbreviate(java.util.HexFormat.of().formatHex(value)),
                        inPath ? revertPath(org, billing, usage) : route, asciiJson(body), "application/json", new String[0], headers);
            }
            default -> {
                if (inPath) {
                    String value = pick(random, BAD_PATH_PARAMETERS);
                    int which = random.nextInt(3);
                    String path = "/v1beta1/admin/organizations/" + (which == 0 ? value : org) + "/billing/" + (which == 1 ? value : billing)
                            + "/usage/" + (which == 2 ? value : usage) + "/revert";
                    Attempt attempt = finish(random, "revert path parameter " + abbreviate(value), asciiJson(body), auth);
                    return new Attempt(attempt.description(), path, attempt.body(), attempt.contentType(), attempt.headers(), null);
                }
                body.put("amount", pick(random, BAD_NUMBERS));
                defect = "amount not ASCII";
            }
        }
        if (!inPath) {
            body.put("org_id", org).put("billing_id", billing);
            if (usage != null) {
                body.put("usage_id", usage);
            }
        }
        Attempt attempt = finish(random, "revert " + defect, asciiJson(body), auth);
        return new Attempt(attempt.description(), inPath ? revertPath(org, billing, usage == null ? "u-1" : usage) : route, attempt.body(),
                attempt.contentType(), attempt.headers(), null);
    }

    /** The revert path form with each parameter %-encoded as UTF-8, so the server decodes what the generator chose. */
    private static String revertPath(String org, String billing, String usage) {
        return "/v1beta1/admin/organizations/" + encode(org) + "/billing/" + encode(billing) + "/usage/" + encode(usage) + "/revert";
    }

    private static String encode(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            out.append(c > 0x20 && c < 0x7F && c != '%' && c != '/' && c != '?' && c != '#' ? String.valueOf((char) c) : String.format("%%%02X", c));
        }
        return out.toString();
    }

    private static Attempt kinde(Random random) {
        ObjectNode body = IngestFixture.JSON.createObjectNode()
                .put("customer_agreement_id", hostile(random))
                .put("billing_feature_code", hostile(random))
                .put("meter_value", String.valueOf(random.nextInt(1000)));
        String[] auth = {"Authorization", fixture.bearer()};
        String defect;
        int roll = random.nextInt(23);
        if (roll >= 17) {
            body.removeAll();
            body.put("customer_agreement_id", "agreement-" + random.nextInt(1000)).put("billing_feature_code", "seats")
                    .put("meter_value", String.valueOf(random.nextInt(1000)));
        }
        switch (roll) {
            case 0 -> { body.put("meter_value", "-" + (1 + random.nextInt(1000))); defect = "negative value"; }
            case 1 -> { body.put("meter_value", hostile(random)); defect = "value not a number"; }
            case 2 -> { body.put("meter_value", random.nextBoolean() ? "NaN" : "-Infinity"); defect = "NaN/Infinity"; }
            case 3 -> { body.put("meter_value", hugeNumber(random)); defect = "huge value"; }
            case 4 -> { body.remove("customer_agreement_id"); defect = "no agreement"; }
            case 5 -> { body.put("billing_feature_code", ""); defect = "empty feature"; }
            case 6 -> { body.put("meter_type_code", hostile(random)); defect = "bad type code"; }
            case 7 -> { body.put("meter_usage_timestamp", hostile(random)); defect = "bad timestamp"; }
            case 8 -> { body.put(hostile(random) + "_x", true); defect = "unknown field"; }
            case 9 -> { auth = bearer(fixture.validClaims().expirationTime(Date.from(Instant.now().minusSeconds(60 + random.nextInt(10_000)))).build()); defect = "expired"; }
            case 10 -> { auth = new String[] {"Authorization", "Bearer " + IngestFixture.sign(fixture.validClaims().build(), otherKey)}; defect = "signed by another key"; }
            case 11 -> { auth = new String[] {"Authorization", "Bearer " + new PlainJWT(fixture.validClaims().build()).serialize()}; defect = "alg none"; }
            case 12 -> { auth = new String[] {"Authorization", "Bearer " + hmac(fixture.validClaims().build())}; defect = "HMAC"; }
            case 13 -> { auth = bearer(fixture.validClaims().claim("scp", List.of("read:usage")).build()); defect = "no permission"; }
            case 14 -> { auth = bearer(fixture.validClaims().audience("https://elsewhere").build()); defect = "wrong audience"; }
            case 15 -> { auth = bearer(fixture.validClaims().issuer("https://evil.example").build()); defect = "wrong issuer"; }
            case 16 -> { auth = new String[0]; defect = "no token"; }
            case 17, 18 -> {
                String field = pick(random, "customer_agreement_id", "billing_feature_code");
                String value = pick(random, BAD_IDENTIFIERS);
                body.put(field, value);
                defect = "bad identifier in " + field + ": " + visible(value);
            }
            case 19 -> { String value = pick(random, BAD_NUMBERS); body.put("meter_value", value); defect = "meter_value " + visible(value); }
            case 20 -> { String value = pick(random, BAD_TIMES); body.put("meter_usage_timestamp", value); defect = "timestamp " + visible(value); }
            default -> {
                byte[] value = BAD_HEADER_BYTES[random.nextInt(BAD_HEADER_BYTES.length)];
                List<byte[]> headers = raw("Authorization", fixture.bearer());
                headers.add(IngestFixture.headerLine("Idempotency-Key", value));
                return new Attempt("kinde Idempotency-Key bytes " + abbreviate(java.util.HexFormat.of().formatHex(value)), path("kinde"),
                        asciiJson(body), "application/json", new String[0], headers);
            }
        }
        return finish(random, "kinde " + defect, asciiJson(body), auth);
    }

    private static Attempt batch(Random random) {
        ObjectNode event = IngestFixture.JSON.createObjectNode()
                .put("event_id", hostile(random))
                .put("billing_account_id", hostile(random))
                .put("feature_code", hostile(random))
                .put("quantity", String.valueOf(random.nextInt(1000)));
        String[] auth = {"X-Api-Key", IngestFixture.API_KEY};
        String defect;
        ObjectNode body = IngestFixture.JSON.createObjectNode();
        int roll = random.nextInt(17);
        if (roll >= 12) {
            event.removeAll();
            event.put("event_id", "e-" + random.nextInt(1_000_000)).put("billing_account_id", "acct-1").put("feature_code", "gpu")
                    .put("quantity", String.valueOf(random.nextInt(1000)));
        }
        switch (roll) {
            case 0 -> { event.put("quantity", "-" + (1 + random.nextInt(1000)) + ".5"); defect = "negative quantity"; }
            case 1 -> { event.put("quantity", hostile(random)); defect = "quantity not a number"; }
            case 2 -> { event.put("quantity", hugeNumber(random)); defect = "huge quantity"; }
            case 3 -> { event.remove("event_id"); defect = "no event id"; }
            case 4 -> { event.put("value_type", hostile(random)); defect = "bad value type"; }
            case 5 -> { event.put("event_time", Instant.now().plus(Duration.ofHours(1 + random.nextInt(1000))).toString()); defect = "future"; }
            case 6 -> { event.put(hostile(random) + "_x", 1); defect = "unknown field"; }
            case 7 -> { event.put("event_time", Instant.now().minus(Duration.ofDays(3 + random.nextInt(300))).toString()); defect = "older than grace"; }
            case 8 -> { auth = new String[] {"X-Api-Key", hostile(random).replaceAll("[^\\x21-\\x7e]", "x")}; defect = "wrong key"; }
            case 9 -> { auth = new String[0]; defect = "no key"; }
            case 10 -> { body.put("extra", hostile(random)); defect = "unknown top-level field"; }
            case 11 -> { body.putArray("events"); defect = "no events"; }
            case 12, 13 -> {
                String field = pick(random, "event_id", "billing_account_id", "feature_code", "org_id");
                String value = pick(random, BAD_IDENTIFIERS);
                event.put(field, value);
                defect = "bad identifier in " + field + ": " + visible(value);
            }
            case 14 -> { String value = pick(random, BAD_NUMBERS); event.put("quantity", value); defect = "quantity " + visible(value); }
            case 15 -> { String value = pick(random, BAD_TIMES); event.put("event_time", value); defect = "event_time " + visible(value); }
            default -> {
                if (random.nextBoolean()) {
                    auth = new String[] {"X-Api-Key", "k".repeat(2_700)};
                    defect = "long API key";
                } else {
                    var events = body.putArray("events");
                    events.add(event);
                    return new Attempt("batch oversized X-Api-Key", path("batch"), asciiJson(body), "application/json", new String[0],
                            raw("X-Api-Key", "k".repeat(20_000 + random.nextInt(10_000))));
                }
            }
        }
        if (!body.has("events")) {
            var events = body.putArray("events");
            int copies = 1 + random.nextInt(3);
            for (int i = 0; i < copies; i++) {
                events.add(event.deepCopy());
            }
        }
        return finish(random, "batch " + defect, asciiJson(body), auth);
    }

    /** Most requests go as built; some are also broken as JSON, oversized or of the wrong content type. */
    /**
     * A path-form attempt moved to a route that names the org and the billing account in the body (the REST body form,
     * Connect): the same defects, with a path parameter's defect as the same field's bad identifier in the body.
     */
    private static Attempt frontierInBody(Random random, String route) {
        Attempt attempt;
        do {
            attempt = frontier(random);
        } while (attempt.path() != null && attempt.path().contains("%") && attempt.rawHeaders() != null); // raw paths belong to the path form
        String org = "org-1";
        String billing = "acct-1";
        String description = attempt.description();
        if (attempt.path() != null && !attempt.path().equals(path("frontier"))) {
            String value = pick(random, BAD_IDENTIFIERS);
            if (value.isEmpty()) {
                value = " "; // an empty billing_id is an absent one (protojson), which is no defect
            }
            if (random.nextBoolean()) {
                org = value;
            } else {
                billing = value;
            }
            description = description.replaceFirst("(orgId|billingId) .*", "") + (org.equals("org-1") ? "billing_id " : "org_id ") + visible(value);
        }
        ObjectNode names = IngestFixture.JSON.createObjectNode().put("org_id", org).put("billing_id", billing);
        String prefix = asciiJson(names);
        String body = attempt.body().startsWith("{\"usages\"") ? prefix.substring(0, prefix.length() - 1) + "," + attempt.body().substring(1) : attempt.body();
        return new Attempt(description, route, body, attempt.contentType(), attempt.headers(), attempt.rawHeaders());
    }

    private static Attempt finish(Random random, String description, String body, String[] auth) {
        int roll = random.nextInt(100);
        if (roll < 8) {
            return new Attempt(description + ", truncated JSON", body.substring(0, random.nextInt(body.length() - 1)), "application/json", auth);
        }
        if (roll < 11) {
            return new Attempt(description + ", garbage", "{\"" + hostile(random) + "\u0000" + body, "application/json", auth);
        }
        if (roll < 14) {
            return new Attempt(description + ", wrong content type", body, random.nextBoolean() ? "text/plain" : "application/xml", auth);
        }
        if (roll == 14) {
            return new Attempt(description + ", oversized", body + " ".repeat(1_100_000), "application/json", auth);
        }
        return new Attempt(description, body, "application/json", auth);
    }

    private static String[] bearer(JWTClaimsSet claims) {
        return new String[] {"Authorization", "Bearer " + fixture.token(claims)};
    }

    private static String hmac(JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(new byte[32]));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The JSON text with every non-ASCII character as a {@code \\uXXXX} escape: a lone surrogate cannot travel as
     * UTF-8 (the client would send '?'), but as an escape it reaches the server's JSON parser as itself.
     */
    private static String asciiJson(ObjectNode body) {
        String text = body.toString();
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            out.append(c < 0x7F ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return out.toString();
    }

    @SafeVarargs
    private static <T> T pick(Random random, T... values) {
        return values[random.nextInt(values.length)];
    }

    /** A value for a failure message: escapes what a terminal would not show. */
    private static String visible(String value) {
        StringBuilder out = new StringBuilder("'");
        abbreviate(value).codePoints().forEach(c -> out.append(c < 0x20 || (c >= 0x7F && c <= 0xA0) || Character.isSurrogate((char) c)
                || Character.getType(c) == Character.NON_SPACING_MARK ? String.format("\\u%04X", c) : Character.toString(c)));
        return out.append("'").toString();
    }

    private static String hostile(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> HOSTILE[random.nextInt(HOSTILE.length)];
            case 1 -> HOSTILE[random.nextInt(HOSTILE.length)] + random.nextInt(1_000_000);
            case 2 -> "h" + random.nextInt(1_000_000);
            default -> "x".repeat(1 + random.nextInt(2000)) + HOSTILE[random.nextInt(HOSTILE.length)];
        };
    }

    private static String hugeNumber(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> "1e" + (400 + random.nextInt(100_000));
            case 1 -> "9".repeat(40 + random.nextInt(100));
            case 2 -> "0." + "0".repeat(12) + "1";
            default -> "1" + "0".repeat(26) + ".5";
        };
    }

    private static String abbreviate(String text) {
        return text == null || text.length() <= 300 ? text : text.substring(0, 300) + "...";
    }
}
