package dev.metering.aggregator.rollup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
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
        RollupWindow window = RollupWindow.containing(events.get(0).getEventTime());
        RollupState state = null;
        for (UsageEvent event : events) {
            // Through the store's binary form each time, as the aggregator does.
            state = RollupState.decode(Rollups.add(state, event).encode(1));
        }
        return state.toRollup("default", "a", "f", window, UPDATED_AT);
    }

    @Test
    void everythingButTheBillableQuantityIsIndependentOfTheOrderOfTheEvents() {
        Random random = new Random(42);
        List<UsageEvent> events = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            Instant time = HOUR.plusSeconds(random.nextInt(6) * 600L); // few distinct times: many ties
            ValueType type = random.nextBoolean() ? ValueType.DELTA : ValueType.ABSOLUTE;
            events.add(event("id-" + random.nextInt(1000) + "-" + i, "0." + random.nextInt(1000), type, time));
        }
        Rollup expected = withoutBillable(fold(events));
        for (int round = 0; round < 50; round++) {
            Collections.shuffle(events, random);
            assertThat(withoutBillable(fold(events))).isEqualTo(expected);
        }
        assertThat(expected.getEventCount()).isEqualTo(60);
    }

    private static Rollup withoutBillable(Rollup rollup) {
        return Rollup.newBuilder(rollup).setBillableQuantity(BigDecimal.ZERO).setLatestAbsoluteEventTime(null).setLatestAbsoluteEventId(null).build();
    }

    @Test
    void windowsAreUtcHoursAlignedToTheEpoch() {
        RollupWindow lastHourOfDay = RollupWindow.containing(Instant.parse("2026-03-10T23:59:59.999Z"));
        assertThat(lastHourOfDay.start()).isEqualTo(Instant.parse("2026-03-10T23:00:00Z"));
        assertThat(lastHourOfDay.end()).isEqualTo(Instant.parse("2026-03-11T00:00:00Z"));
        RollupWindow hour = RollupWindow.containing(Instant.parse("2026-03-11T00:00:00Z"));
        assertThat(hour.start()).isEqualTo(Instant.parse("2026-03-11T00:00:00Z"));
        assertThat(hour.end()).isEqualTo(Instant.parse("2026-03-11T01:00:00Z"));
    }

    @Test
    void withoutAbsolutesTheBillableQuantityIsTheSumAndAnAbsoluteResetsIt() {
        Rollup deltas = fold(List.of(event("a", "1.5", ValueType.DELTA, HOUR), event("b", "2", ValueType.DELTA, HOUR.plusSeconds(1))));
        assertThat(deltas.getBillableQuantity()).isEqualTo(deltas.getQuantitySum()).isEqualTo(new BigDecimal("3.5").setScale(12));

        Rollup reset = fold(List.of(event("a", "1.5", ValueType.DELTA, HOUR), event("abs", "10", ValueType.ABSOLUTE, HOUR.plusSeconds(5)),
                event("b", "2", ValueType.DELTA, HOUR.plusSeconds(1))));
        assertThat(reset.getBillableQuantity()).isEqualTo(new BigDecimal("12").setScale(12));
        assertThat(reset.getQuantitySum()).isEqualTo(new BigDecimal("3.5").setScale(12));
    }
}
