package dev.metering.aggregator.rollup;

import dev.metering.avro.WindowSize;
import java.time.Duration;
import java.time.Instant;

/** A tumbling UTC hour on event time: [start, end). The aggregator emits hours only; longer periods are composed from them. */
public record RollupWindow(Instant start, Instant end) {
    public static final Duration LENGTH = Duration.ofHours(1);
    public static final WindowSize SIZE = WindowSize.HOUR;

    /** The hour holding the instant (epoch-aligned, so UTC hours). */
    public static RollupWindow containing(Instant eventTime) {
        return startingAt(hourStart(eventTime.toEpochMilli()));
    }

    public static RollupWindow startingAt(long startMillis) {
        return new RollupWindow(Instant.ofEpochMilli(startMillis), Instant.ofEpochMilli(startMillis + LENGTH.toMillis()));
    }

    public static long hourStart(long epochMillis) {
        return Math.floorDiv(epochMillis, LENGTH.toMillis()) * LENGTH.toMillis();
    }
}
