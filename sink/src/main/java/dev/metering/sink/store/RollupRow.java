package dev.metering.sink.store;

import dev.metering.avro.Rollup;
import java.math.BigDecimal;
import java.time.Instant;

/** One row of {@code usage_rollups}: an hourly {@link Rollup} as the sink stores it. */
public record RollupRow(
        String orgId,
        String billingAccountId,
        String featureCode,
        String windowSize,
        Instant windowStart,
        Instant windowEnd,
        long eventCount,
        BigDecimal quantitySum,
        BigDecimal billableQuantity,
        BigDecimal latestValue,
        String latestValueType,
        Instant latestEventTime,
        String latestEventId,
        Instant latestAbsoluteEventTime,
        String latestAbsoluteEventId,
        BigDecimal minValue,
        BigDecimal maxValue,
        Instant firstEventTime,
        Instant lastEventTime,
        Instant updatedAt,
        BigDecimal revertedQuantity,
        long revertCount) {

    public static RollupRow of(Rollup rollup) {
        return new RollupRow(
                rollup.getOrgId(),
                rollup.getBillingAccountId(),
                rollup.getFeatureCode(),
                rollup.getWindowSize().name(),
                rollup.getWindowStart(),
                rollup.getWindowEnd(),
                rollup.getEventCount(),
                rollup.getQuantitySum(),
                rollup.getBillableQuantity(),
                rollup.getLatestValue(),
                rollup.getLatestValueType().name(),
                rollup.getLatestEventTime(),
                rollup.getLatestEventId(),
                rollup.getLatestAbsoluteEventTime(),
                rollup.getLatestAbsoluteEventId(),
                rollup.getMinValue(),
                rollup.getMaxValue(),
                rollup.getFirstEventTime(),
                rollup.getLastEventTime(),
                rollup.getUpdatedAt(),
                rollup.getRevertedQuantity(),
                rollup.getRevertCount());
    }

    /**
     * The newer of two versions of the same window: event_count + revert_count grows with every update (a usage or
     * a revert); on a tie the candidate (the one read later) wins.
     */
    public static RollupRow newer(RollupRow kept, RollupRow candidate) {
        return candidate.version() >= kept.version() ? candidate : kept;
    }

    /** Grows with every update of the window: accepted usages plus applied reverts. */
    public long version() {
        return eventCount + revertCount;
    }

    /** The primary key of the row. */
    public Key key() {
        return new Key(orgId, billingAccountId, featureCode, windowSize, windowStart);
    }

    public record Key(String orgId, String billingAccountId, String featureCode, String windowSize, Instant windowStart) {
    }
}
