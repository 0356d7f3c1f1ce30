package dev.metering.schemas;

/** Names of the topics every service and every outside producer shares. */
public final class Topics {
    /** {@code UsageEvent} values, key = billing account id as a UTF-8 string. */
    public static final String USAGE_EVENTS = "usage-events";
    /** {@code Rollup} values keyed by {@code RollupKey}; compacted. */
    public static final String USAGE_ROLLUPS = "usage-rollups";
    /** Records the aggregator refused: original key and value bytes, the reason in headers (see {@link DeadLetter}). */
    public static final String USAGE_EVENTS_DLQ = "usage-events-dlq";
    /**
     * The aggregator's verdicts for reverts (every one) and for usages sent with {@link Verdict#REQUESTED_HEADER}:
     * key = {@link Verdict#key} of the event's identity (UTF-8), value = {@link Verdict} as JSON. Short retention.
     */
    public static final String USAGE_VERDICTS = "usage-verdicts";

    private Topics() {
    }
}
