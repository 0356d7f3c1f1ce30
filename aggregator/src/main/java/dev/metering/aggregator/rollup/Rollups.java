package dev.metering.aggregator.rollup;

import dev.metering.avro.Rollup;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Quantities;
import java.math.BigDecimal;
import java.time.Instant;

/** The aggregation of DESIGN.md, one event at a time. Pure functions; exact decimals. */
public final class Rollups {
    private Rollups() {
    }

    /**
     * The rollup after adding the event ({@code current} is null for the window's first event). The
     * result does not depend on the order in which a window's events are added.
     *
     * @throws IllegalArgumentException when the sum no longer fits the schema's decimal(38, 12)
     */
    public static Rollup add(Rollup current, RollupWindow window, UsageEvent event, Instant updatedAt) {
        BigDecimal quantity = event.getQuantity();
        BigDecimal delta = event.getValueType() == ValueType.DELTA ? quantity : Quantities.ZERO;
        if (current == null) {
            return Rollup.newBuilder()
                    .setBillingAccountId(event.getBillingAccountId())
                    .setFeatureCode(event.getFeatureCode())
                    .setWindowSize(window.size())
                    .setWindowStart(window.start())
                    .setWindowEnd(window.end())
                    .setEventCount(1)
                    .setQuantitySum(Quantities.exact(delta))
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
                .setQuantitySum(sum(current.getQuantitySum(), delta))
                .setMinValue(current.getMinValue().min(quantity))
                .setMaxValue(current.getMaxValue().max(quantity))
                .setFirstEventTime(earlier(current.getFirstEventTime(), event.getEventTime()))
                .setLastEventTime(later(current.getLastEventTime(), event.getEventTime()))
                .setUpdatedAt(updatedAt)
                .build();
        if (isLater(event, current)) {
            next.setLatestValue(quantity);
            next.setLatestValueType(event.getValueType());
            next.setLatestEventTime(event.getEventTime());
            next.setLatestEventId(event.getEventId());
        }
        return next;
    }

    /** Whether the event supersedes the rollup's latest value: greater event time, ties by greater event id. */
    static boolean isLater(UsageEvent event, Rollup current) {
        int byTime = event.getEventTime().compareTo(current.getLatestEventTime());
        if (byTime != 0) {
            return byTime > 0;
        }
        return event.getEventId().compareTo(current.getLatestEventId()) > 0;
    }

    private static BigDecimal sum(BigDecimal a, BigDecimal b) {
        try {
            return Quantities.exact(a.add(b));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("quantity_sum of the window " + e.getMessage(), e);
        }
    }

    private static Instant earlier(Instant a, Instant b) {
        return a.isAfter(b) ? b : a;
    }

    private static Instant later(Instant a, Instant b) {
        return a.isBefore(b) ? b : a;
    }
}
