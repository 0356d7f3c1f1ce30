package dev.metering.ingest.validation;

import dev.metering.ops.http.InvalidFieldException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.ops.http.StrictJson;
import dev.metering.schemas.rules.EventRules;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The adapter adds no rule of its own: it reads JSON values and names fields the way the request wrote them. */
class RequestRulesTest {
    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00.123456Z");
    private final RequestRules rules = new RequestRules(new EventRules(Duration.ofHours(48), Duration.ofMinutes(1)), Clock.fixed(NOW, ZoneOffset.UTC));
    private final ObjectMapper json = StrictJson.mapper();

    private JsonNode parse(String text) throws Exception {
        return json.readTree(text);
    }

    @Test
    void nowHasMillisecondPrecision() {
        assertThat(rules.now()).isEqualTo(Instant.parse("2025-06-01T12:00:00.123Z"));
    }

    @Test
    void timesAreStrictRfc3339AndAdmittedByTheSharedRuleWithTheConfiguredSkew() {
        Instant now = rules.now();
        assertThat(rules.eventTime("usages[0].created_at", "2025-06-01T13:30:00+02:00", now)).isEqualTo(Instant.parse("2025-06-01T11:30:00Z"));
        assertThat(rules.eventTime("t", "2025-06-01T12:01:00.123Z", now)).isEqualTo(Instant.parse("2025-06-01T12:01:00.123Z"));
        assertThatThrownBy(() -> rules.eventTime("usages[0].created_at", "2025-06-01T12:01:00.124Z", now))
                .isInstanceOfSatisfying(InvalidFieldException.class, e -> {
                    assertThat(e.reason()).isEqualTo(InvalidFieldException.Reason.FUTURE);
                    assertThat(e.getMessage()).startsWith("usages[0].created_at is more than PT1M after");
                });
        assertThatThrownBy(() -> rules.eventTime("t", "2025-05-30T10:00:00Z", now))
                .isInstanceOfSatisfying(InvalidFieldException.class, e -> assertThat(e.reason()).isEqualTo(InvalidFieldException.Reason.LATE));
        for (String bad : new String[] {"2025-06-01 12:00", "2025-06-01T12:00:00", "2025-06-01T12:00:00+00:00:30", "1748779200",
                "２０２５-06-01T12:00:00Z"}) {
            assertThatThrownBy(() -> rules.eventTime("t", bad, now)).as(bad).hasMessageStartingWith("t is not an RFC 3339 timestamp");
        }
    }

    @Test
    void quantitiesAreAsciiDecimalsFromNumbersOrStrings() throws Exception {
        assertThat(rules.quantity("q", parse("\"0.1\""))).isEqualTo(new BigDecimal("0.100000000000"));
        assertThat(rules.quantity("q", parse("0.1"))).isEqualTo(new BigDecimal("0.100000000000"));
        assertThat(rules.quantity("q", parse("1e3"))).isEqualTo(new BigDecimal("1000.000000000000"));
        for (String bad : new String[] {"\"\u0663\"", "\"\uFF11\"", "\"+1\"", "\" 1\"", "\"1.\"", "\".5\"", "\"NaN\"", "\"-Infinity\""}) {
            assertThatThrownBy(() -> rules.quantity("events[0].quantity", parse(bad))).as(bad).hasMessageStartingWith("events[0].quantity is not a decimal number");
        }
        assertThatThrownBy(() -> rules.quantity("q", parse("\"1e999999999\""))).hasMessageContaining("q has more than 26 digits");
        assertThatThrownBy(() -> rules.quantity("q", parse("-0.5"))).hasMessage("q must not be negative, got -0.5");
        assertThatThrownBy(() -> rules.quantity("q", parse("true"))).hasMessageContaining("q must be a decimal number or a string");
        assertThatThrownBy(() -> rules.quantity("q", null)).hasMessage("q is required");
    }

    @Test
    void integersFitInt64() throws Exception {
        assertThat(rules.nonNegativeInteger("a", parse("\"9223372036854775807\""))).isEqualTo(new BigDecimal("9223372036854775807.000000000000"));
        assertThatThrownBy(() -> rules.nonNegativeInteger("a", parse("9223372036854775808"))).hasMessage("a is larger than a 64-bit integer");
        assertThatThrownBy(() -> rules.nonNegativeInteger("a", parse("2.5"))).hasMessage("a must be a whole number, got 2.5");
    }

    @Test
    void identifiersAreNormalisedAndCheckedUnderTheirRequestName() {
        assertThat(RequestRules.identifier("billingId", "cafe\u0301")).isEqualTo("caf\u00e9");
        assertThat(RequestRules.lowerCaseIdentifier("usages[0].source", "API_Calls")).isEqualTo("api_calls");
        assertThatThrownBy(() -> RequestRules.identifier("billingId", "x".repeat(210))).hasMessage("billingId is longer than 100 characters");
        assertThatThrownBy(() -> RequestRules.identifier("billingId", " \u2003")).hasMessageStartingWith("billingId must not be empty");
        assertThatThrownBy(() -> RequestRules.identifier("billingId", "\t")).hasMessageStartingWith("billingId holds the control character U+0009");
        assertThatThrownBy(() -> RequestRules.identifier("usages[2].source", "s\u0000rc")).hasMessageStartingWith("usages[2].source holds a NUL");
        assertThatThrownBy(() -> RequestRules.lowerCaseIdentifier("s", "\u0130".repeat(100))).hasMessage("s is longer than 100 characters");
    }

    @Test
    void metadataKeepsNonStringValuesAsJsonUnlessOnlyStringsAreAllowed() throws Exception {
        JsonNode metadata = parse("{\"a\": \"x\", \"n\": 1.50, \"nested\": {\"b\": true}}");
        assertThat(RequestRules.metadata("m", metadata, false)).isEqualTo(Map.of("a", "x", "n", "1.50", "nested", "{\"b\":true}"));
        assertThatThrownBy(() -> RequestRules.metadata("m", metadata, true)).hasMessage("m.n must be a string, got a number");
        assertThatThrownBy(() -> RequestRules.metadata("m", parse("[]"), false)).hasMessage("m must be a JSON object, got an array");
        assertThatThrownBy(() -> RequestRules.metadata("usages[0].metadata", parse("{\"k\": \"a\\u0000\"}"), false))
                .hasMessageStartingWith("usages[0].metadata.k holds a NUL");
    }
}
