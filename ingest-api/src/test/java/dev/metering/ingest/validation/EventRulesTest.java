package dev.metering.ingest.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EventRulesTest {
    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00.123456Z");
    private final EventRules rules = new EventRules(Clock.fixed(NOW, ZoneOffset.UTC), Duration.ofHours(48));
    private final ObjectMapper json = dev.metering.ingest.IngestApi.objectMapper();

    private JsonNode parse(String text) throws Exception {
        return json.readTree(text);
    }

    @Test
    void nowHasMillisecondPrecision() {
        assertThat(rules.now()).isEqualTo(Instant.parse("2025-06-01T12:00:00.123Z"));
    }

    @Test
    void parsesRfc3339WithOffsetsAndChecksTheWindow() {
        Instant now = rules.now();
        assertThat(rules.eventTime("t", "2025-06-01T13:30:00+02:00", now)).isEqualTo(Instant.parse("2025-06-01T11:30:00Z"));
        // hour-only offset, as in Kinde's API documentation example ("2024-11-18T13:32:03+11")
        assertThat(rules.eventTime("t", "2025-06-01T13:30:00+02", now)).isEqualTo(Instant.parse("2025-06-01T11:30:00Z"));
        assertThat(rules.eventTime("t", "2025-06-01t11:30:00.987654z", now)).isEqualTo(Instant.parse("2025-06-01T11:30:00.987Z"));
        assertThat(rules.eventTime("t", "2025-06-01T12:05:00Z", now)).isEqualTo(Instant.parse("2025-06-01T12:05:00Z"));
        assertThatThrownBy(() -> rules.eventTime("t", "2025-06-01T12:05:01Z", now))
                .isInstanceOfSatisfying(InvalidFieldException.class, e -> {
                    assertThat(e.reason()).isEqualTo(InvalidFieldException.Reason.FUTURE);
                    assertThat(e.getMessage()).startsWith("t is more than 5 minutes in the future");
                });
        assertThat(rules.eventTime("t", "2025-05-30T12:00:00.123Z", now)).isEqualTo(Instant.parse("2025-05-30T12:00:00.123Z"));
        assertThatThrownBy(() -> rules.eventTime("t", "2025-05-30T12:00:00.122Z", now))
                .isInstanceOfSatisfying(InvalidFieldException.class, e -> {
                    assertThat(e.reason()).isEqualTo(InvalidFieldException.Reason.LATE);
                    assertThat(e.getMessage()).contains("older than the accepted lateness of 48h");
                });
        assertThatThrownBy(() -> rules.eventTime("t", "2025-06-01 12:00:00", now)).hasMessageContaining("t is not an RFC 3339 timestamp");
        assertThatThrownBy(() -> rules.eventTime("t", "2025-06-01T12:00:00", now)).hasMessageContaining("RFC 3339");
        assertThatThrownBy(() -> rules.eventTime("t", "1748779200", now)).hasMessageContaining("RFC 3339");
    }

    @Test
    void quantitiesAreExact() throws Exception {
        assertThat(rules.quantity("q", parse("\"0.1\""))).isEqualTo(new BigDecimal("0.100000000000"));
        assertThat(rules.quantity("q", parse("0.1"))).isEqualTo(new BigDecimal("0.100000000000"));
        assertThat(rules.quantity("q", parse("1e3"))).isEqualTo(new BigDecimal("1000.000000000000"));
        assertThat(rules.quantity("q", parse("\"99999999999999999999999999.999999999999\"")))
                .isEqualTo(new BigDecimal("99999999999999999999999999.999999999999"));
        assertThat(rules.quantity("q", parse("99999999999999999999999999.999999999999")))
                .isEqualTo(new BigDecimal("99999999999999999999999999.999999999999"));
        assertThatThrownBy(() -> rules.quantity("q", parse("\"999999999999999999999999999\""))).hasMessage("q has more than 26 digits before the decimal point");
        assertThatThrownBy(() -> rules.quantity("q", parse("0.0000000000001"))).hasMessage("q has more than 12 digits after the decimal point");
        assertThatThrownBy(() -> rules.quantity("q", parse("\"NaN\""))).hasMessageContaining("q is not a decimal number");
        assertThatThrownBy(() -> rules.quantity("q", parse("\"-Infinity\""))).hasMessageContaining("q is not a decimal number");
        assertThatThrownBy(() -> rules.quantity("q", parse("\"1e999999999\""))).hasMessageContaining("q has more than 26 digits");
        assertThatThrownBy(() -> rules.quantity("q", parse("\"\""))).hasMessage("q is empty");
        assertThatThrownBy(() -> rules.quantity("q", parse("-0.5"))).hasMessage("q must not be negative, got -0.5");
        assertThatThrownBy(() -> rules.quantity("q", parse("true"))).hasMessageContaining("q must be a decimal number or a string");
        assertThatThrownBy(() -> rules.quantity("q", null)).hasMessage("q is required");
    }

    @Test
    void integersFitInt64() throws Exception {
        assertThat(rules.nonNegativeInteger("a", parse("\"9223372036854775807\""))).isEqualTo(new BigDecimal("9223372036854775807.000000000000"));
        assertThatThrownBy(() -> rules.nonNegativeInteger("a", parse("9223372036854775808"))).hasMessage("a is larger than a 64-bit integer");
        assertThatThrownBy(() -> rules.nonNegativeInteger("a", parse("2.5"))).hasMessage("a must be a whole number, got 2.5");
        assertThat(rules.nonNegativeInteger("a", parse("2.0"))).isEqualTo(new BigDecimal("2.000000000000"));
    }

    @Test
    void metadataKeepsNonStringValuesAsJsonUnlessOnlyStringsAreAllowed() throws Exception {
        JsonNode metadata = parse("{\"a\": \"x\", \"n\": 1.50, \"nested\": {\"b\": true}}");
        assertThat(rules.metadata("m", metadata, false)).isEqualTo(Map.of("a", "x", "n", "1.50", "nested", "{\"b\":true}"));
        assertThatThrownBy(() -> rules.metadata("m", metadata, true)).hasMessage("m.n must be a string, got a number");
        assertThatThrownBy(() -> rules.metadata("m", parse("[]"), false)).hasMessage("m must be a JSON object, got an array");
    }
}
