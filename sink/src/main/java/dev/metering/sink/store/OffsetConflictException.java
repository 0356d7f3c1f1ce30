package dev.metering.sink.store;

import org.apache.kafka.common.TopicPartition;

/** The stored offset of a partition is not where this instance left it; the batch was rolled back. */
public final class OffsetConflictException extends RuntimeException {
    private final TopicPartition partition;

    public OffsetConflictException(TopicPartition partition, Long expected) {
        super("Stored offset of " + partition + " is no longer " + (expected == null ? "absent" : expected)
                + "; another sink instance or an operator moved it. Batch rolled back; re-reading the offsets.");
        this.partition = partition;
    }

    public TopicPartition partition() {
        return partition;
    }
}
