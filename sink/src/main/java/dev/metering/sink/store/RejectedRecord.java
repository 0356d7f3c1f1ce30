package dev.metering.sink.store;

/**
 * A record of the rollups topic that the sink could not store as a rollup. It is written to
 * {@code sink_rejected_records} in the transaction that moves the offsets past it.
 */
public record RejectedRecord(String topic, int partition, long recordOffset, Reason reason, String detail,
                             byte[] recordKey, byte[] recordValue) {

    public enum Reason {
        /** Key or value bytes are not a RollupKey / Rollup in the wire format. */
        UNDECODABLE,
        /** Decoded, but violates the rollup's invariants (e.g. event_count <= 0, key and value disagree). */
        INVALID_VALUE,
        /** A null value: rollups are never deleted by the sink. */
        TOMBSTONE
    }

    public String reasonName() {
        return reason.name();
    }
}
