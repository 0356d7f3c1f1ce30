package dev.metering.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.query.QueryFixture.Hour;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generated hostile requests from a fixed seed (so a failure reproduces): each carries hostile strings (SQL, control
 * characters, lone surrogates as escapes, RTL marks, huge text) and at least one defect. Every one must get a 4xx in the
 * native error shape with a message, the rollups must be unchanged, and the service must stay healthy and answer a valid
 * request with the same figures as before.
 */
class HostileInputIT {
    private static final int CASES = 600;
    private static final String[] HOSTILE = {
        "'; DROP TABLE usage_rollups; --", "\" OR 1=1 --", "x') OR ('1'='1", "Robert'); DELETE FROM sink_offsets;--", "\u0000nul", "bell\u0007",
        "line\nbreak", "\u202Eevil\u202C", "\uD83D\uDE80rocket", "\uFEFFbom", "../../etc/passwd", "${jndi:ldap://x/a}", "<script>alert(1)</script>",
        "%00", "1e999999", "-1", "NaN", "9999-99-99T99:99:99Z", "2025-13-01T00:00:00Z", " ", "x".repeat(2000), "UTC;DROP", "Europe/../../etc"
    };
    private static final String VALID = "/v1/usage?billing_account_id=safe-1&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z";
    private static QueryFixture fixture;

    @BeforeAll
    static void start() {
        fixture = new QueryFixture(Clock.systemUTC(), 1000);
        fixture.insert(List.of(Hour.delta("org-a", "safe-1", "calls", Instant.parse("2025-05-01T10:00:00Z"), "42")));
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    @Test
    void everyHostileRequestGetsAClear4xxAndTheServiceStaysHealthy() {
        String before = fixture.get(QueryFixture.KEY_ALL, VALID).body();
        assertThat(before).contains("\"42\"");
        Random random = new Random(15);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < CASES; i++) {
            String path = hostileRequest(random);
            String key = switch (random.nextInt(8)) {
                case 0 -> null;
                case 1 -> pick(random);
                case 2 -> QueryFixture.KEY_LIMITED;
                default -> QueryFixture.KEY_ALL;
            };
            QueryFixture.Response response;
            try {
                response = key == null || key.chars().allMatch(c -> c >= 0x20 && c < 0x7f)
                        ? fixture.get(key, path)
                        : fixture.get(QueryFixture.KEY_ALL, path);
            } catch (RuntimeException | AssertionError e) {
                failures.add(path + " -> " + e);
                continue;
            }
            String problem = problem(response);
            if (problem != null) {
                failures.add(path + " -> " + response.status() + " " + response.body() + ": " + problem);
            }
        }
        assertThat(failures).as("requests answered wrongly").isEmpty();
        assertThat(fixture.get(null, "/health/ready").status()).isEqualTo(200);
        assertThat(fixture.get(QueryFixture.KEY_ALL, VALID).body()).isEqualTo(before);
    }

    private static String problem(QueryFixture.Response response) {
        if (response.status() < 400 || response.status() >= 500) {
            return "not a 4xx";
        }
        JsonNode body;
        try {
            body = response.json();
        } catch (AssertionError e) {
            return "not JSON";
        }
        if (body.size() != 2 || !body.path("code").isTextual() || !body.path("message").isTextual() || body.get("message").asText().isBlank()) {
            return "not the native error shape";
        }
        return null;
    }

    private static String pick(Random random) {
        return HOSTILE[random.nextInt(HOSTILE.length)];
    }

    /** A request with at least one defect, and hostile strings where a value goes. */
    private static String hostileRequest(Random random) {
        String endpoint = random.nextInt(4) == 0 ? "/v1/usage/current" : "/v1/usage";
        List<String> parameters = new ArrayList<>();
        parameters.add("billing_account_id=" + q(random.nextBoolean() ? pick(random) : "safe-1"));
        if (random.nextBoolean()) {
            parameters.add("feature_code=" + q(pick(random)));
        }
        if (endpoint.equals("/v1/usage")) {
            parameters.add("from=" + q(random.nextBoolean() ? "2025-05-01T00:00:00Z" : pick(random)));
            parameters.add("to=" + q(random.nextBoolean() ? "2025-05-02T00:00:00Z" : pick(random)));
        }
        // The defect that makes the request invalid whatever else it holds.
        switch (random.nextInt(14)) {
            case 0 -> parameters.add(q(pick(random)) + "=1");
            case 1 -> parameters.add("window_size=" + q(pick(random)));
            case 2 -> parameters.add("window_time_zone=" + q(pick(random)));
            case 3 -> parameters.add("group_by=" + q(pick(random)));
            case 4 -> parameters.add("limit=" + q(pick(random)));
            case 5 -> parameters.add("cursor=" + q(pick(random)));
            case 6 -> parameters.add("billing_account_id=%" + "zz");
            case 7 -> parameters.add("billing_account_id=%C0%AF");
            case 8 -> parameters.add("billing_account_id=" + q("a".repeat(101)));
            case 9 -> parameters.add(String.join("&", java.util.Collections.nCopies(150, "billing_account_id=acct")));
            case 10 -> parameters.add("period=" + q(pick(random)));
            case 11 -> parameters.add("from=" + q(pick(random)));
            case 12 -> parameters.add("billing_account_id=%00");
            default -> parameters.add("window_time_zone=Asia/Kolkata&window_size=DAY");
        }
        java.util.Collections.shuffle(parameters, random);
        return endpoint + "?" + String.join("&", parameters);
    }
}
