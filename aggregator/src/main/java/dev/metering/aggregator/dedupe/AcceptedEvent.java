package dev.metering.aggregator.dedupe;

import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Quantities;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * What the aggregator remembers about an accepted identity besides its fingerprint (the details of an
 * {@link AcceptedIds.Entry}), for the dedupe window:
 * <ul>
 *   <li>a DELTA usage: its hour and feature (where a revert applies), its amount, how much of it was reverted so far,
 *       and how many ABSOLUTEs its hour had applied when it was accepted (a revert lowers the hour's billable quantity
 *       only while no later ABSOLUTE has overwritten the usage);</li>
 *   <li>an ABSOLUTE usage: just that (it cannot be reverted);</li>
 *   <li>a revert: its verdict, so a retry of it gets the same answer.</li>
 * </ul>
 * Entries written before reverts existed have no details ({@link Legacy}).
 *
 * <p>Format: kind byte; DELTA: {@code hourStart:long, resets:long, amount, reverted: decimal (length byte +
 * unscaled two's complement at scale 12), feature: string}; REVERT: {@code applied:byte, reason: string, detail:
 * string} (string = int length + UTF-8; an empty reason when applied).
 */
public sealed interface AcceptedEvent {
    byte DELTA = 1;
    byte ABSOLUTE = 2;
    byte REVERT = 3;

    byte[] encode();

    record Legacy() implements AcceptedEvent {
        @Override
        public byte[] encode() {
            return new byte[0];
        }
    }

    record Absolute() implements AcceptedEvent {
        @Override
        public byte[] encode() {
            return new byte[] {ABSOLUTE};
        }
    }

    record Delta(long hourStart, long resets, BigDecimal amount, BigDecimal reverted, String featureCode) implements AcceptedEvent {
        public BigDecimal remaining() {
            return amount.subtract(reverted);
        }

        public Delta withReverted(BigDecimal reverted) {
            return new Delta(hourStart, resets, amount, reverted, featureCode);
        }

        @Override
        public byte[] encode() {
            byte[] amountBytes = unscaled(amount);
            byte[] revertedBytes = unscaled(reverted);
            byte[] feature = featureCode.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(1 + 16 + 2 + amountBytes.length + revertedBytes.length + 4 + feature.length)
                    .put(DELTA).putLong(hourStart).putLong(resets)
                    .put((byte) amountBytes.length).put(amountBytes).put((byte) revertedBytes.length).put(revertedBytes)
                    .putInt(feature.length).put(feature).array();
        }
    }

    /** @param reason null when the revert was applied */
    record Revert(DeadLetter.Reason reason, String detail) implements AcceptedEvent {
        public boolean applied() {
            return reason == null;
        }

        @Override
        public byte[] encode() {
            byte[] reasonBytes = reason == null ? new byte[0] : reason.name().getBytes(StandardCharsets.UTF_8);
            byte[] detailBytes = detail.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(1 + 1 + 4 + reasonBytes.length + 4 + detailBytes.length)
                    .put(REVERT).put((byte) (applied() ? 1 : 0))
                    .putInt(reasonBytes.length).put(reasonBytes).putInt(detailBytes.length).put(detailBytes).array();
        }
    }

    static AcceptedEvent decode(byte[] details) {
        if (details.length == 0) {
            return new Legacy();
        }
        ByteBuffer buffer = ByteBuffer.wrap(details);
        byte kind = buffer.get();
        switch (kind) {
            case ABSOLUTE:
                return new Absolute();
            case DELTA: {
                long hourStart = buffer.getLong();
                long resets = buffer.getLong();
                BigDecimal amount = decimal(buffer);
                BigDecimal reverted = decimal(buffer);
                return new Delta(hourStart, resets, amount, reverted, string(buffer));
            }
            case REVERT: {
                boolean applied = buffer.get() == 1;
                String reason = string(buffer);
                String detail = string(buffer);
                return new Revert(applied ? null : DeadLetter.Reason.valueOf(reason), detail);
            }
            default:
                throw new IllegalStateException("unknown accepted-event kind " + kind);
        }
    }

    private static byte[] unscaled(BigDecimal value) {
        return value.setScale(Quantities.SCALE).unscaledValue().toByteArray();
    }

    private static BigDecimal decimal(ByteBuffer buffer) {
        byte[] unscaled = new byte[buffer.get()];
        buffer.get(unscaled);
        return new BigDecimal(new BigInteger(unscaled), Quantities.SCALE);
    }

    private static String string(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.getInt()];
        buffer.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
