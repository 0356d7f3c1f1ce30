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
 * own error shape with a message, never a 5xx, and nothing may reach the topic. The service must stay
 * healthy and still accept a valid request afterwards.
 */
class HostileInputIT {
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
        fixture = new IngestFixture();
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

    record Attempt(String description, String body, String contentType, String[] headers) {
    }

    @Test
    void everyHostileRequestGetsAClear4xxAndNothingIsProduced() {
        long before = fixture.endOffset();

        List<String> failures = new ArrayList<>();
        run("frontier", 11, HostileInputIT::frontier, this::checkFrontier, failures);
        run("kinde", 12, HostileInputIT::kinde, this::checkKinde, failures);
        run("batch", 13, HostileInputIT::batch, this::checkBatch, failures);
        assertThat(failures).as("requests answered wrongly").isEmpty();

        assertThat(fixture.get(api, "/health/ready").status()).isEqualTo(200);
        fixture.assertNothingProducedSince(before);
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
            IngestFixture.Response response = fixture.post(api, path(endpoint), attempt.body(), headers);
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
        ObjectNode usage = fixture.json.createObjectNode()
                .put("id", hostile(random))
                .put("source", hostile(random))
                .put("amount", random.nextInt(1000))
                .put("description", hostile(random))
                .put("user_id", hostile(random));
        String[] auth = {"Authorization", IngestFixture.frontierAuth()};
        String defect;
        switch (random.nextInt(16)) {
            case 0 -> { usage.put("amount", -1 - random.nextInt(1000)); defect = "negative amount"; }
            case 1 -> { usage.put("amount", random.nextDouble() + 0.01); defect = "fractional amount"; }
            case 2 -> { usage.put("amount", hostile(random)); defect = "amount not a number"; }
            case 3 -> { usage.putRawValue("amount", new com.fasterxml.jackson.databind.util.RawValue(hugeNumber(random))); defect = "huge amount"; }
            case 4 -> { usage.remove("id"); defect = "no id"; }
            case 5 -> { usage.put("id", "x".repeat(101 + random.nextInt(10_000))); defect = "id too long"; }
            case 6 -> { usage.put(hostile(random) + "_unknown", 1); defect = "unknown field"; }
            case 7 -> { usage.put("created_at", hostile(random)); defect = "bad created_at"; }
            case 8 -> { usage.put("created_at", Instant.now().plus(Duration.ofDays(1 + random.nextInt(100))).toString()); defect = "future created_at"; }
            case 9 -> { usage.put("type", hostile(random)); defect = "bad type"; }
            case 10 -> { usage.putArray("metadata").add(hostile(random)); defect = "metadata not an object"; }
            case 11 -> { auth = new String[] {"Authorization", IngestFixture.basic(IngestFixture.FRONTIER_USER, hostile(random))}; defect = "wrong secret"; }
            case 12 -> { auth = new String[0]; defect = "no auth"; }
            case 13 -> { auth = new String[] {"Authorization", "Bearer " + hostile(random).replaceAll("[^\\x21-\\x7e]", "x")}; defect = "wrong scheme"; }
            case 14 -> { usage.put("amount", "NaN"); defect = "NaN"; }
            default -> { usage.remove("source"); defect = "no source"; }
        }
        ObjectNode body = fixture.json.createObjectNode();
        body.putArray("usages").add(usage);
        return finish(random, "frontier " + defect, body.toString(), auth);
    }

    private static Attempt kinde(Random random) {
        ObjectNode body = fixture.json.createObjectNode()
                .put("customer_agreement_id", hostile(random))
                .put("billing_feature_code", hostile(random))
                .put("meter_value", String.valueOf(random.nextInt(1000)));
        String[] auth = {"Authorization", fixture.bearer()};
        String defect;
        switch (random.nextInt(17)) {
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
            default -> { auth = new String[0]; defect = "no token"; }
        }
        return finish(random, "kinde " + defect, body.toString(), auth);
    }

    private static Attempt batch(Random random) {
        ObjectNode event = fixture.json.createObjectNode()
                .put("event_id", hostile(random))
                .put("billing_account_id", hostile(random))
                .put("feature_code", hostile(random))
                .put("quantity", String.valueOf(random.nextInt(1000)));
        String[] auth = {"X-Api-Key", IngestFixture.API_KEY};
        String defect;
        ObjectNode body = fixture.json.createObjectNode();
        switch (random.nextInt(12)) {
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
            default -> { body.putArray("events"); defect = "no events"; }
        }
        if (!body.has("events")) {
            var events = body.putArray("events");
            int copies = 1 + random.nextInt(3);
            for (int i = 0; i < copies; i++) {
                events.add(event.deepCopy());
            }
        }
        return finish(random, "batch " + defect, body.toString(), auth);
    }

    /** Most requests go as built; some are also broken as JSON, oversized or of the wrong content type. */
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
