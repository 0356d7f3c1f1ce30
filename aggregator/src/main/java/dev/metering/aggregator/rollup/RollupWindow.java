package dev.metering.aggregator.rollup;

import dev.metering.avro.WindowSize;
import java.time.Duration;
import java.time.Instant;

/** A tumbling UTC window on event time: [start, end). */
public record RollupWindow(WindowSize size, Instant start, Instant end) {

    public static Duration length(WindowSize size) {
        return switch (size) {
            case HOUR -> Duration.ofHours(1);
            case DAY -> Duration.ofDays(1);
        };
    }

    /** The window of this size holding the instant; epoch-aligned windows are UTC hours and days. */
    public static RollupWindow containing(WindowSize size, Instant eventTime) {
        long length = length(size).toMillis();
        long start = Math.floorDiv(eventTime.toEpochMilli(), length) * length;
        return new RollupWindow(size, Instant.ofEpochMilli(start), Instant.ofEpochMilli(start + length));
    }
}
