package dev.metering.schemas;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Headers;

/**
 * The contract of {@link Topics#USAGE_EVENTS_DLQ}: a dead-lettered record keeps its original key and
 * value bytes; why it was refused travels in these headers (UTF-8 strings).
 */
public final class DeadLetter {
    /** One of {@link Reason}. */
    public static final String REASON_HEADER = "metering.dlq.reason";
    /** A human-readable explanation naming the offending field. */
    public static final String DETAIL_HEADER = "metering.dlq.detail";
    /** Where the record came from: topic, partition and offset, e.g. {@code usage-events-3@1234}. */
    public static final String SOURCE_HEADER = "metering.dlq.source";

    public enum Reason {
        /** The bytes are not a UsageEvent in the Confluent wire format (bad magic byte, unknown schema id, corrupt Avro). */
        UNDECODABLE,
        /** A required field is missing or empty. */
        MISSING_FIELD,
        /** A field holds a value that is not allowed (negative delta, too many digits, key not matching the account, ...). */
        INVALID_VALUE,
        /** The event time is too far in the future. */
        FUTURE,
        /** The event's window closed (grace period over) before it arrived. */
        LATE,
        /** The event id was seen before for the same billing account with a different payload. */
        CONFLICT,
        /** A revert names a usage the aggregator does not know (never accepted, or accepted before the dedupe window). */
        REVERT_UNKNOWN_USAGE,
        /** A revert names another revert. */
        REVERT_OF_REVERT,
        /** A revert names an ABSOLUTE usage; only DELTA usages can be reverted. */
        REVERT_OF_ABSOLUTE,
        /** A revert's amount is more than what remains of the usage (its amount minus the reverts applied so far). */
        REVERT_EXCEEDS_USAGE,
        /** The usage's hour closed (grace period over) before the revert arrived. */
        REVERT_LATE,
        /**
         * The aggregator failed on this record before counting or remembering anything of it: a bug its data met (logged
         * at ERROR with the stack trace). Isolated so that it does not stop its partition; replay it once fixed.
         */
        PROCESSING_FAILED
    }

    private DeadLetter() {
    }

    public static void addHeaders(Headers headers, Reason reason, String detail, String source) {
        headers.add(REASON_HEADER, reason.name().getBytes(StandardCharsets.UTF_8));
        headers.add(DETAIL_HEADER, detail.getBytes(StandardCharsets.UTF_8));
        headers.add(SOURCE_HEADER, source.getBytes(StandardCharsets.UTF_8));
    }

    /** The header's value, or null when it is absent. */
    public static String header(Headers headers, String name) {
        var header = headers.lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
    }
}
