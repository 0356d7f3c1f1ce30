package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class EventTimesTest {
    @Test
    void parsesRfc3339AndKindesHourOffset() {
        assertThat(EventTimes.parse("t", "2025-01-31T12:00:00Z")).isEqualTo(Instant.parse("2025-01-31T12:00:00Z"));
        assertThat(EventTimes.parse("t", "2025-01-31t12:00:00.123456z")).isEqualTo(Instant.parse("2025-01-31T12:00:00.123Z"));
        assertThat(EventTimes.parse("t", "2025-01-31T14:00:00+02:00")).isEqualTo(Instant.parse("2025-01-31T12:00:00Z"));
        assertThat(EventTimes.parse("t", "2025-01-31T10:30:00-01:30")).isEqualTo(Instant.parse("2025-01-31T12:00:00Z"));
        assertThat(EventTimes.parse("t", "2025-01-31T14:00:00+02")).isEqualTo(Instant.parse("2025-01-31T12:00:00Z"));
    }

    @Test
    void refusesEverythingElse() {
        for (String bad : new String[] {"2025-01-31T12:00:00+00:00:30", "2025-01-31T12:00Z", "2025-01-31T12:00:00", "2025-02-30T12:00:00Z",
                "2025-01-31T24:00:00Z", "2025-01-31T12:00:00+24:00", "\u0662025-01-31T12:00:00Z", "2025-01-31T12:00:00.Z", "yesterday", ""}) {
            assertThatThrownBy(() -> EventTimes.parse("event_time", bad)).as(bad).isInstanceOf(RuleViolation.class)
                    .hasMessageContaining("event_time is not an RFC 3339 timestamp");
        }
    }
}
