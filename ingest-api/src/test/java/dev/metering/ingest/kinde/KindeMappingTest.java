package dev.metering.ingest.kinde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.http.TimeOrderedIds;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.rules.EventRules;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class KindeMappingTest {
    private static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
    private static final String BODY = "{\"customer_agreement_id\": \"a\", \"billing_feature_code\": \"f\", \"meter_value\": \"1\"}";
    private final ObjectMapper json = new ObjectMapper();
    private final RequestRules rules = new RequestRules(EventRules.defaults(), Clock.fixed(NOW, ZoneOffset.UTC));
    private final TimeOrderedIds ids = new TimeOrderedIds();

    private UsageEvent map(String body, String key, String org) throws Exception {
        return KindeMeterUsageEndpoint.toEvent(json.readTree(body), key, org, rules, ids::nextString);
    }

    @Test
    void identicalRequestsWithoutIdempotencyKeyAreDistinctTimeOrderedEvents() throws Exception {
        UsageEvent first = map(BODY, null, null);
        UsageEvent second = map(BODY, null, null);
        assertThat(first.getEventId()).isNotEqualTo(second.getEventId());
        assertThat(UUID.fromString(first.getEventId()).version()).isEqualTo(7);
        assertThat(first.getEventId()).isLessThan(second.getEventId());
        assertThat(first.getIdSpace()).isEqualTo(IdSpace.KINDE);
    }

    @Test
    void theIdempotencyKeyIsTheEventIdInNormalForm() throws Exception {
        UsageEvent event = map(BODY, "cafe\u0301-1", "org-9");
        assertThat(event.getEventId()).isEqualTo("caf\u00e9-1");
        assertThat(event.getOrgId()).isEqualTo("org-9");
        assertThat(event.getValueType()).isEqualTo(ValueType.DELTA);
        assertThat(event.getOrigin()).isEqualTo("kinde");
        assertThat(map(BODY, "caf\u00e9-1", "org-9").getEventId()).isEqualTo(event.getEventId());
    }

    @Test
    void aBadIdempotencyKeyIsRefusedNamingTheHeader() {
        for (String key : new String[] {"k".repeat(101), "a\u0000b", " ", "\u2003", "a\uD800"}) {
            assertThatThrownBy(() -> map(BODY, key, null)).as(key).hasMessageStartingWith("Idempotency-Key header ");
        }
    }
}
