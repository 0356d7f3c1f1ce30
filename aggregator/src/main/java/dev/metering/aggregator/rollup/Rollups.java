package dev.metering.aggregator.rollup;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Quantities;
import java.math.BigDecimal;

/**
 * The hour aggregation of DESIGN.md, one accepted event at a time, in acceptance order. Exact decimals.
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
     * The hour's state after adding the event: {@code current} updated in place, or a new state when it is null.
     * Nothing is changed when it throws.
     *
     * @throws IllegalArgumentException when a sum no longer fits decimal(50, 12) (impossible for fewer than 10^12 events)
     */
    public static RollupState add(RollupState current, UsageEvent event) {
        BigDecimal quantity = event.getQuantity();
        boolean absolute = event.getValueType() == ValueType.ABSOLUTE;
        long time = event.getEventTime().toEpochMilli();
        String id = event.getEventId();
        if (current == null) {
            RollupState state = new RollupState();
            state.count = 1;
            state.sum = sum("quantity_sum", Quantities.ZERO, absolute ? Quantities.ZERO : quantity);
            state.billable = sum("billable_quantity", Quantities.ZERO, quantity);
            if (absolute) {
                state.absoluteTime = time;
                state.absoluteId = id;
                state.resets = 1;
            }
            state.latestValue = quantity;
            state.latestType = event.getValueType();
            state.latestTime = time;
            state.latestId = id;
            state.min = quantity;
            state.max = quantity;
            state.firstTime = time;
            state.lastTime = time;
            return state;
        }
        BigDecimal sum = absolute ? current.sum : sum("quantity_sum", current.sum, quantity);
        BigDecimal billable = current.billable;
        boolean applyAbsolute = absolute && (current.absoluteId == null || isLater(time, id, current.absoluteTime, current.absoluteId));
        if (!absolute) {
            billable = sum("billable_quantity", current.billable, quantity);
        } else if (applyAbsolute) {
            billable = Quantities.exactSum(quantity);
        }
        current.count++;
        current.sum = sum;
        current.billable = billable;
        if (applyAbsolute) {
            current.absoluteTime = time;
            current.absoluteId = id;
            current.resets++;
        }
        current.min = current.min.min(quantity);
        current.max = current.max.max(quantity);
        current.firstTime = Math.min(current.firstTime, time);
        current.lastTime = Math.max(current.lastTime, time);
        if (isLater(time, id, current.latestTime, current.latestId)) {
            current.latestValue = quantity;
            current.latestType = event.getValueType();
            current.latestTime = time;
            current.latestId = id;
        }
        return current;
    }

    /**
     * Subtracts a revert of a DELTA usage of this hour, in acceptance order: {@code quantity_sum} goes down by the
     * amount and {@code reverted_quantity} up; {@code billable_quantity} goes down too unless an ABSOLUTE was applied to
     * the hour after the usage (then the ABSOLUTE had already overwritten the usage's contribution). Count, latest, min,
     * max and times describe the usages and do not change. The caller checked that the usage's remaining amount covers
     * it, so no figure goes below zero.
     *
     * @param usageResets {@link RollupState#resets()} of the hour right after the usage was accepted
     */
    public static RollupState revert(RollupState current, BigDecimal amount, long usageResets) {
        current.sum = Quantities.exactSum(current.sum.subtract(amount));
        if (current.resets == usageResets) {
            current.billable = Quantities.exactSum(current.billable.subtract(amount));
        }
        current.reverted = Quantities.exactSum(current.reverted.add(amount));
        current.revertCount++;
        return current;
    }

    /** Whether (time, id) comes strictly after (otherTime, otherId): greater event time, ties by greater event id. */
    public static boolean isLater(long time, String id, long otherTime, String otherId) {
        return time != otherTime ? time > otherTime : id.compareTo(otherId) > 0;
    }

    private static BigDecimal sum(String field, BigDecimal a, BigDecimal b) {
        try {
            return Quantities.exactSum(a.add(b));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " of the window " + e.getMessage(), e);
        }
    }
}
