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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The hour fold of DESIGN.md on random events: what may not depend on the order of an hour's events does not, the
 * billable quantity follows the hour rule in acceptance order, and the store's binary form loses nothing.
 */
class RollupFoldPropertyTest {
    private static final Instant HOUR = Instant.parse("2026-03-10T10:00:00Z");
    private static final Instant UPDATED_AT = Instant.parse("2026-03-10T12:00:00Z");

    @Property(tries = 300)
    void anyOrderOfTheSameEventsGivesTheSameRollupButForTheRunningValue(@ForAll("hours") List<UsageEvent> events, @ForAll long seed) {
        List<UsageEvent> shuffled = new ArrayList<>(events);
        Collections.shuffle(shuffled, new Random(seed));

        Rollup inOrder = fold(events);
        Rollup reordered = fold(shuffled);

        assertThat(withoutRunningValue(reordered)).isEqualTo(withoutRunningValue(inOrder));
        // The applied ABSOLUTE is always the one with the greatest (event time, event id), whatever the order.
        assertThat(reordered.getLatestAbsoluteEventTime()).isEqualTo(inOrder.getLatestAbsoluteEventTime());
        assertThat(reordered.getLatestAbsoluteEventId()).isEqualTo(inOrder.getLatestAbsoluteEventId());
        boolean mixed = events.stream().map(UsageEvent::getValueType).distinct().count() > 1;
        if (!mixed) {
            // Pure DELTA hours bill their sum, pure ABSOLUTE hours their latest value: no order shows.
            assertThat(reordered.getBillableQuantity()).isEqualByComparingTo(inOrder.getBillableQuantity());
        }
    }

    @Property(tries = 300)
    void theRunningValueFollowsTheHourRuleInAcceptanceOrder(@ForAll("hours") List<UsageEvent> events) {
        // DESIGN.md, written out: an ABSOLUTE sets the running value unless an ABSOLUTE with a later (event time,
        // event id) was already applied; a DELTA adds to it.
        BigDecimal running = BigDecimal.ZERO;
        UsageEvent applied = null;
        BigDecimal deltaSum = BigDecimal.ZERO;
        for (UsageEvent event : events) {
            if (event.getValueType() == ValueType.DELTA) {
                running = running.add(event.getQuantity());
                deltaSum = deltaSum.add(event.getQuantity());
            } else if (applied == null || later(event, applied)) {
                running = event.getQuantity();
                applied = event;
            }
        }

        Rollup rollup = fold(events);

        assertThat(rollup.getBillableQuantity()).isEqualByComparingTo(running);
        assertThat(rollup.getQuantitySum()).isEqualByComparingTo(deltaSum);
        assertThat(rollup.getEventCount()).isEqualTo(events.size());
        assertThat(rollup.getLatestAbsoluteEventId()).isEqualTo(applied == null ? null : applied.getEventId());
    }

    @Property(tries = 200)
    void theStoresBinaryFormLosesNothing(@ForAll("hours") List<UsageEvent> events) {
        RollupState direct = null;
        for (UsageEvent event : events) {
            direct = Rollups.add(direct, event);
        }
        RollupWindow window = RollupWindow.containing(HOUR);
        byte[] encoded = direct.encode(7);
        assertThat(RollupState.decode(encoded).toRollup("t", "a", "f", window, UPDATED_AT))
                .isEqualTo(direct.toRollup("t", "a", "f", window, UPDATED_AT));
        assertThat(RollupState.change(encoded)).isEqualTo(7);
    }

    /** What the version before the change number wrote (version 2: eight zero bytes in its place) still reads, as change 0. */
    @Property(tries = 200)
    void statesWrittenByTheVersionBeforeStillRead(@ForAll("hours") List<UsageEvent> events) {
        RollupState direct = null;
        for (UsageEvent event : events) {
            direct = Rollups.add(direct, event);
        }
        byte[] current = direct.encode(Long.MAX_VALUE);
        byte[] versionTwo = current.clone();
        java.util.Arrays.fill(versionTwo, versionTwo.length - 8, versionTwo.length, (byte) 0);
        versionTwo[0] = 2;
        RollupWindow window = RollupWindow.containing(HOUR);
        assertThat(RollupState.decode(versionTwo).toRollup("t", "a", "f", window, UPDATED_AT))
                .isEqualTo(direct.toRollup("t", "a", "f", window, UPDATED_AT));
        assertThat(RollupState.change(versionTwo)).isZero();
    }

    /**
     * Up to 30 events of one hour as the fold receives them: distinct ids (the dedupe step drops repeats before the
     * fold), few distinct times (many ties broken by id), DELTA and ABSOLUTE, 0 to 12 decimals.
     */
    @Provide
    Arbitrary<List<UsageEvent>> hours() {
        Arbitrary<Long> offsets = Arbitraries.longs().between(0, 5).map(step -> step * 600_000L);
        Arbitrary<String> ids = Arbitraries.integers().between(0, 60).map(n -> "id-" + n);
        Arbitrary<ValueType> types = Arbitraries.of(ValueType.DELTA, ValueType.ABSOLUTE);
        Arbitrary<BigDecimal> quantities = Combinators.combine(Arbitraries.longs().between(0, 1_000_000_000L), Arbitraries.integers().between(0, 12))
                .as((unscaled, scale) -> BigDecimal.valueOf(unscaled, scale).setScale(12));
        Arbitrary<UsageEvent> events = Combinators.combine(offsets, ids, types, quantities).as((offset, id, type, quantity) -> {
            Instant time = HOUR.plusMillis(offset);
            return UsageEvent.newBuilder().setEventId(id).setBillingAccountId("a").setFeatureCode("f").setQuantity(quantity)
                    .setValueType(type).setEventTime(time).setReceivedAt(time).build();
        });
        return events.list().ofMinSize(1).ofMaxSize(30).uniqueElements(UsageEvent::getEventId);
    }

    private static boolean later(UsageEvent event, UsageEvent than) {
        int byTime = event.getEventTime().compareTo(than.getEventTime());
        return byTime != 0 ? byTime > 0 : event.getEventId().compareTo(than.getEventId()) > 0;
    }

    private static Rollup fold(List<UsageEvent> events) {
        RollupState state = null;
        for (UsageEvent event : events) {
            state = Rollups.add(state, event);
        }
        return state.toRollup("t", "a", "f", RollupWindow.containing(HOUR), UPDATED_AT);
    }

    private static Rollup withoutRunningValue(Rollup rollup) {
        return Rollup.newBuilder(rollup).setBillableQuantity(BigDecimal.ZERO).setLatestAbsoluteEventTime(null).setLatestAbsoluteEventId(null).build();
    }
}
