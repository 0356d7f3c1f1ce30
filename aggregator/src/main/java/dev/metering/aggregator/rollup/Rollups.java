package dev.metering.aggregator.rollup;

import dev.metering.avro.Rollup;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Quantities;
import dev.metering.schemas.rules.Tenants;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * The hour aggregation of DESIGN.md, one accepted event at a time, in acceptance order. Pure functions; exact decimals.
 *
 * <p>Every field but {@code billable_quantity} (and {@code latest_absolute_*}) is independent of the order of the
 * hour's events. {@code billable_quantity} follows the hour rule: an ABSOLUTE sets it (and becomes
 * {@code latest_absolute_*}) unless the hour's applied ABSOLUTE has a later or equal (event_time, event_id), then
 * it changes nothing; a DELTA adds to it. Without ABSOLUTE events it equals {@code quantity_sum}.
 */
public final class Rollups {
    private Rollups() {
    }

    /**
     * The rollup after adding the event ({@code current} is null for the window's first event).
     *
     * @throws IllegalArgumentException when a sum no longer fits decimal(50, 12) (impossible for fewer than 10^12 events)
     */
    public static Rollup add(Rollup current, RollupWindow window, UsageEvent event, Instant updatedAt) {
        BigDecimal quantity = event.getQuantity();
        boolean absolute = event.getValueType() == ValueType.ABSOLUTE;
        BigDecimal delta = absolute ? Quantities.ZERO : quantity;
        if (current == null) {
            return Rollup.newBuilder()
                    .setOrgId(Tenants.of(event.getOrgId()))
                    .setBillingAccountId(event.getBillingAccountId())
                    .setFeatureCode(event.getFeatureCode())
                    .setWindowSize(RollupWindow.SIZE)
                    .setWindowStart(window.start())
                    .setWindowEnd(window.end())
                    .setEventCount(1)
                    .setQuantitySum(sum("quantity_sum", Quantities.ZERO, delta))
                    .setBillableQuantity(sum("billable_quantity", Quantities.ZERO, quantity))
                    .setLatestAbsoluteEventTime(absolute ? event.getEventTime() : null)
                    .setLatestAbsoluteEventId(absolute ? event.getEventId() : null)
                    .setLatestValue(quantity)
                    .setLatestValueType(event.getValueType())
                    .setLatestEventTime(event.getEventTime())
                    .setLatestEventId(event.getEventId())
                    .setMinValue(quantity)
                    .setMaxValue(quantity)
                    .setFirstEventTime(event.getEventTime())
                    .setLastEventTime(event.getEventTime())
                    .setUpdatedAt(updatedAt)
                    .build();
        }
        Rollup next = Rollup.newBuilder(current)
                .setEventCount(current.getEventCount() + 1)
                .setQuantitySum(sum("quantity_sum", current.getQuantitySum(), delta))
                .setMinValue(current.getMinValue().min(quantity))
                .setMaxValue(current.getMaxValue().max(quantity))
                .setFirstEventTime(earlier(current.getFirstEventTime(), event.getEventTime()))
                .setLastEventTime(later(current.getLastEventTime(), event.getEventTime()))
                .setUpdatedAt(updatedAt)
                .build();
        if (!absolute) {
            next.setBillableQuantity(sum("billable_quantity", current.getBillableQuantity(), quantity));
        } else if (current.getLatestAbsoluteEventTime() == null
                || isLater(event.getEventTime(), event.getEventId(), current.getLatestAbsoluteEventTime(), current.getLatestAbsoluteEventId())) {
            next.setBillableQuantity(Quantities.exactSum(quantity));
            next.setLatestAbsoluteEventTime(event.getEventTime());
            next.setLatestAbsoluteEventId(event.getEventId());
        }
        if (isLater(event.getEventTime(), event.getEventId(), current.getLatestEventTime(), current.getLatestEventId())) {
            next.setLatestValue(quantity);
            next.setLatestValueType(event.getValueType());
            next.setLatestEventTime(event.getEventTime());
            next.setLatestEventId(event.getEventId());
        }
        return next;
    }

    /** Whether (time, id) comes strictly after (otherTime, otherId): greater event time, ties by greater event id. */
    public static boolean isLater(Instant time, String id, Instant otherTime, String otherId) {
        int byTime = time.compareTo(otherTime);
        return byTime != 0 ? byTime > 0 : id.compareTo(otherId) > 0;
    }

    private static BigDecimal sum(String field, BigDecimal a, BigDecimal b) {
        try {
            return Quantities.exactSum(a.add(b));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " of the window " + e.getMessage(), e);
        }
    }

    private static Instant earlier(Instant a, Instant b) {
        return a.isAfter(b) ? b : a;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isBefore(b) ? b : a;
    }
}
