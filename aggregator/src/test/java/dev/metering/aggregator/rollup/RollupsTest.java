package dev.metering.aggregator.rollup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.Rollup;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RollupsTest {
    private static final Instant UPDATED_AT = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant HOUR = Instant.parse("2026-03-10T10:00:00Z");

    private static UsageEvent event(String id, String quantity, ValueType type, Instant time) {
        return UsageEvent.newBuilder().setEventId(id).setBillingAccountId("a").setFeatureCode("f")
                .setQuantity(new BigDecimal(quantity).setScale(12)).setValueType(type).setEventTime(time).setReceivedAt(time).build();
    }

    private static Rollup fold(List<UsageEvent> events) {
        RollupWindow window = RollupWindow.containing(WindowSize.HOUR, events.get(0).getEventTime());
        Rollup rollup = null;
        for (UsageEvent event : events) {
            rollup = Rollups.add(rollup, window, event, UPDATED_AT);
        }
        return rollup;
    }

    @Test
    void theRollupDoesNotDependOnTheOrderOfItsEvents() {
        Random random = new Random(42);
        List<UsageEvent> events = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            Instant time = HOUR.plusSeconds(random.nextInt(6) * 600L); // few distinct times: many ties
            ValueType type = random.nextBoolean() ? ValueType.DELTA : ValueType.ABSOLUTE;
            events.add(event("id-" + random.nextInt(1000) + "-" + i, "0." + random.nextInt(1000), type, time));
        }
        Rollup expected = fold(events);
        for (int round = 0; round < 50; round++) {
            Collections.shuffle(events, random);
            assertThat(fold(events)).isEqualTo(expected);
        }
        assertThat(expected.getEventCount()).isEqualTo(60);
    }

    @Test
    void windowsAreUtcHoursAndDaysAlignedToTheEpoch() {
        RollupWindow day = RollupWindow.containing(WindowSize.DAY, Instant.parse("2026-03-10T23:59:59.999Z"));
        assertThat(day.start()).isEqualTo(Instant.parse("2026-03-10T00:00:00Z"));
        assertThat(day.end()).isEqualTo(Instant.parse("2026-03-11T00:00:00Z"));
        RollupWindow hour = RollupWindow.containing(WindowSize.HOUR, Instant.parse("2026-03-11T00:00:00Z"));
        assertThat(hour.start()).isEqualTo(Instant.parse("2026-03-11T00:00:00Z"));
        assertThat(hour.end()).isEqualTo(Instant.parse("2026-03-11T01:00:00Z"));
    }

    @Test
    void aSumThatNoLongerFitsDecimal38Scale12IsRefused() {
        Rollup full = fold(List.of(event("a", "99999999999999999999999999.999999999999", ValueType.DELTA, HOUR)));
        RollupWindow window = RollupWindow.containing(WindowSize.HOUR, HOUR);

        assertThatThrownBy(() -> Rollups.add(full, window, event("b", "0.000000000001", ValueType.DELTA, HOUR), UPDATED_AT))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("quantity_sum")
                .hasMessageContaining("26 digits before the decimal point");
        // An ABSOLUTE value adds nothing to the sum, so it still fits.
        assertThat(Rollups.add(full, window, event("c", "5", ValueType.ABSOLUTE, HOUR), UPDATED_AT).getEventCount()).isEqualTo(2);
    }
}
