package dev.metering.ingest.kinde;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.validation.EventRules;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class KindeMappingTest {
    private final ObjectMapper json = new ObjectMapper();

    private UsageEvent map(String body, String key, Instant now) throws Exception {
        return KindeMeterUsageEndpoint.toEvent(json.readTree(body), key, new EventRules(Clock.fixed(now, ZoneOffset.UTC), Duration.ofHours(48)));
    }

    @Test
    void theDerivedIdDependsOnTheCanonicalValuesOnly() throws Exception {
        Instant now = Instant.parse("2025-06-01T12:00:00Z");
        String body = "{\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"f\", \"meter_value\": \"%s\"%s}";
        UsageEvent first = map(body.formatted("1.5", ""), null, now);
        // a retry a minute later without timestamp: same id (event time differs, it is the receipt time)
        UsageEvent retry = map(body.formatted("1.50", ", \"meter_type_code\": \"DELTA\""), null, now.plusSeconds(60));
        assertThat(retry.getEventId()).isEqualTo(first.getEventId()).startsWith("kinde-").hasSize(6 + 64);
        assertThat(retry.getEventTime()).isNotEqualTo(first.getEventTime());

        assertThat(map(body.formatted("2", ""), null, now).getEventId()).isNotEqualTo(first.getEventId());
        assertThat(map(body.formatted("1.5", ", \"meter_type_code\": \"absolute\""), null, now).getEventId()).isNotEqualTo(first.getEventId());
        UsageEvent timed = map(body.formatted("1.5", ", \"meter_usage_timestamp\": \"2025-06-01T11:00:00Z\""), null, now);
        assertThat(timed.getEventId()).isNotEqualTo(first.getEventId());
        assertThat(timed.getEventTime()).isEqualTo(Instant.parse("2025-06-01T11:00:00Z"));
        // the same timestamp written with another offset is the same instant, so the same event
        assertThat(map(body.formatted("1.5", ", \"meter_usage_timestamp\": \"2025-06-01T13:00:00+02:00\""), null, now).getEventId())
                .isEqualTo(timed.getEventId());
        // no ambiguity from concatenation
        assertThat(KindeMeterUsageEndpoint.derivedEventId("ab", "c", BigDecimal.ONE, ValueType.DELTA, null))
                .isNotEqualTo(KindeMeterUsageEndpoint.derivedEventId("a", "bc", BigDecimal.ONE, ValueType.DELTA, null));
    }

    @Test
    void theIdempotencyKeyIsTheEventId() throws Exception {
        UsageEvent event = map("{\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"f\", \"meter_value\": \"1\"}", " key-1 ",
                Instant.parse("2025-06-01T12:00:00Z"));
        assertThat(event.getEventId()).isEqualTo("key-1");
        assertThat(event.getValueType()).isEqualTo(ValueType.DELTA);
        assertThat(event.getOrigin()).isEqualTo("kinde");
    }
}
