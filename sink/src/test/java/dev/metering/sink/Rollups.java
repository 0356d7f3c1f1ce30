package dev.metering.sink;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.Quantities;
import java.time.Duration;
import java.time.Instant;

/** Builds rollups for tests. */
final class Rollups {
    private Rollups() {
    }

    /** A DELTA rollup whose quantities are all derived from {@code sum}; latest event at window start + count minutes. */
    static Rollup delta(String account, String feature, WindowSize size, String windowStart, long eventCount, String sum) {
        Instant start = Instant.parse(windowStart);
        Instant latest = start.plus(Duration.ofMinutes(eventCount));
        return rollup(account, feature, size, start, eventCount, sum, "1", ValueType.DELTA, latest, "e-" + eventCount, "0.5", sum);
    }

    /** An ABSOLUTE rollup with the given latest value and the time of the event that reported it. */
    static Rollup absolute(String account, String feature, WindowSize size, String windowStart, long eventCount, String latestValue,
                           String latestEventTime, String latestEventId) {
        return rollup(account, feature, size, Instant.parse(windowStart), eventCount, "0", latestValue, ValueType.ABSOLUTE,
                Instant.parse(latestEventTime), latestEventId, latestValue, latestValue);
    }

    static Rollup rollup(String account, String feature, WindowSize size, Instant start, long eventCount, String sum, String latest,
                         ValueType type, Instant latestTime, String latestId, String min, String max) {
        Instant end = start.plus(size == WindowSize.HOUR ? Duration.ofHours(1) : Duration.ofDays(1));
        return Rollup.newBuilder()
                .setBillingAccountId(account)
                .setFeatureCode(feature)
                .setWindowSize(size)
                .setWindowStart(start)
                .setWindowEnd(end)
                .setEventCount(eventCount)
                .setQuantitySum(Quantities.parse(sum))
                .setLatestValue(Quantities.parse(latest))
                .setLatestValueType(type)
                .setLatestEventTime(latestTime)
                .setLatestEventId(latestId)
                .setMinValue(Quantities.parse(min))
                .setMaxValue(Quantities.parse(max))
                .setFirstEventTime(start)
                .setLastEventTime(latestTime)
                .setUpdatedAt(Instant.parse("2026-11-22T00:00:00Z"))
                .build();
    }

    static RollupKey keyOf(Rollup rollup) {
        return new RollupKey(rollup.getBillingAccountId(), rollup.getFeatureCode(), rollup.getWindowSize(), rollup.getWindowStart());
    }
}
