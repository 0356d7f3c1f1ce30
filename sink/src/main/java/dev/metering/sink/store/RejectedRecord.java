package dev.metering.sink.store;

/**
 * A record of the rollups topic that the sink could not store as a rollup. It is written to
 * {@code sink_rejected_records} in the transaction that moves the offsets past it, with its original key and
 * value bytes, so an operator can inspect it and replay it.
 */
public record RejectedRecord(String topic, int partition, long recordOffset, Reason reason, String detail,
                             byte[] recordKey, byte[] recordValue) {
    /** Longest detail stored (characters); the rest is cut, the bytes are kept whole anyway. */
    static final int MAX_DETAIL_LENGTH = 2000;

    public enum Reason {
        /** Key or value bytes are not a RollupKey / Rollup in the wire format. */
        UNDECODABLE,
        /**
         * Decoded, but violates the rollup's invariants or the identifier rules (e.g. event_count <= 0, key and value
         * disagree, a NUL or an over-long identifier, a sum beyond numeric(50,12)).
         */
        INVALID_VALUE,
        /** A null value: rollups are never deleted by the sink. */
        TOMBSTONE,
        /**
         * PostgreSQL refused the row because of its data (SQLSTATE class 22, 23, 54 or a datatype mismatch): a retry
         * cannot succeed. The detail starts with the SQLSTATE.
         */
        REFUSED_BY_DATABASE
    }

    public RejectedRecord {
        detail = storable(detail);
    }

    /** A record of the batch, rejected. */
    public static RejectedRecord of(Batch.Source source, Reason reason, String detail) {
        return new RejectedRecord(source.topic(), source.partition(), source.offset(), reason, detail, source.key(), source.value());
    }

    public String reasonName() {
        return reason.name();
    }

    /**
     * The detail as text PostgreSQL always stores: details quote what was wrong (a key holding a NUL, a lone
     * surrogate, a 3,000-character id), and a detail the database refuses would make the rejection itself a poison.
     */
    static String storable(String detail) {
        if (detail == null) {
            return "";
        }
        StringBuilder text = new StringBuilder(Math.min(detail.length(), MAX_DETAIL_LENGTH + 20));
        for (int i = 0; i < detail.length() && text.length() < MAX_DETAIL_LENGTH; i++) {
            char c = detail.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < detail.length() && Character.isLowSurrogate(detail.charAt(i + 1))) {
                text.append(c).append(detail.charAt(++i));
            } else if (Character.isSurrogate(c) || (Character.getType(c) == Character.CONTROL && c != '\n' && c != '\t')) {
                text.append(String.format("\\u%04X", (int) c));
            } else {
                text.append(c);
            }
        }
        if (text.length() >= MAX_DETAIL_LENGTH && detail.length() > MAX_DETAIL_LENGTH) {
            text.append("... (cut)");
        }
        return text.toString();
    }
}
