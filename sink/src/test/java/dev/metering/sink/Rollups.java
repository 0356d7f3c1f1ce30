package dev.metering.sink;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.Quantities;
import dev.metering.schemas.rules.Tenants;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

/** Builds rollups for tests, as the aggregator does (billable_quantity and the latest ABSOLUTE included). */
public final class Rollups {
    private Rollups() {
    }

    /** A DELTA rollup of the default tenant whose quantities are all derived from {@code sum}; latest event at window start + count minutes. */
    public static Rollup delta(String account, String feature, WindowSize size, String windowStart, long eventCount, String sum) {
        return delta(Tenants.DEFAULT, account, feature, size, windowStart, eventCount, sum);
    }

    static Rollup delta(String org, String account, String feature, WindowSize size, String windowStart, long eventCount, String sum) {
        Instant start = Instant.parse(windowStart);
        Instant latest = start.plus(Duration.ofMinutes(Math.min(eventCount, 59)));
        return rollup(org, account, feature, size, start, eventCount, sum, sum, "1", ValueType.DELTA, latest, "e-" + eventCount, null, null,
                "0.5", sum.startsWith("-") ? "1" : maxOf(sum));
    }

    /** An ABSOLUTE-only rollup: billable = the latest value, which is also the latest ABSOLUTE applied. */
    static Rollup absolute(String account, String feature, WindowSize size, String windowStart, long eventCount, String latestValue,
                           String latestEventTime, String latestEventId) {
        return rollup(Tenants.DEFAULT, account, feature, size, Instant.parse(windowStart), eventCount, "0", latestValue, latestValue,
                ValueType.ABSOLUTE, Instant.parse(latestEventTime), latestEventId, Instant.parse(latestEventTime), latestEventId, latestValue,
                latestValue);
    }

    /**
     * A mixed hour: ABSOLUTE {@code absolute} at {@code absoluteTime}, then DELTAs summing to {@code deltaSum} applied after it,
     * so billable = absolute + deltaSum; the latest event is the last DELTA.
     */
    static Rollup mixed(String org, String account, String feature, String windowStart, long eventCount, String absolute, String absoluteTime,
                        String deltaSum, String latestEventTime) {
        String billable = new BigDecimal(absolute).add(new BigDecimal(deltaSum)).toPlainString();
        return rollup(org, account, feature, WindowSize.HOUR, Instant.parse(windowStart), eventCount, deltaSum, billable, "1", ValueType.DELTA,
                Instant.parse(latestEventTime), "d-" + eventCount, Instant.parse(absoluteTime), "a-" + absoluteTime, "0", absolute);
    }

    static Rollup rollup(String org, String account, String feature, WindowSize size, Instant start, long eventCount, String sum, String billable,
                         String latest, ValueType type, Instant latestTime, String latestId, Instant latestAbsoluteTime, String latestAbsoluteId,
                         String min, String max) {
        Instant end = start.plus(size == WindowSize.HOUR ? Duration.ofHours(1) : Duration.ofDays(1));
        return Rollup.newBuilder()
                .setOrgId(org)
                .setBillingAccountId(account)
                .setFeatureCode(feature)
                .setWindowSize(size)
                .setWindowStart(start)
                .setWindowEnd(end)
                .setEventCount(eventCount)
                .setQuantitySum(Quantities.exactSum(new BigDecimal(sum)))
                .setBillableQuantity(Quantities.exactSum(new BigDecimal(billable)))
                .setLatestValue(Quantities.parse(latest))
                .setLatestValueType(type)
                .setLatestEventTime(latestTime)
                .setLatestEventId(latestId)
                .setLatestAbsoluteEventTime(latestAbsoluteTime)
                .setLatestAbsoluteEventId(latestAbsoluteId)
                .setMinValue(Quantities.parse(min))
                .setMaxValue(Quantities.parse(max))
                .setFirstEventTime(start)
                .setLastEventTime(latestTime)
                .setUpdatedAt(Instant.parse("2026-11-22T00:00:00Z"))
                .build();
    }

    private static String maxOf(String sum) {
        BigDecimal value = new BigDecimal(sum);
        return value.precision() - value.scale() > Quantities.MAX_INTEGER_DIGITS ? "1" : sum;
    }

    public static RollupKey keyOf(Rollup rollup) {
        return new RollupKey(rollup.getOrgId(), rollup.getBillingAccountId(), rollup.getFeatureCode(), rollup.getWindowSize(), rollup.getWindowStart());
    }
}
