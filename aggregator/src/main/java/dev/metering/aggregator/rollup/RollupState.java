package dev.metering.aggregator.rollup;

import dev.metering.avro.Rollup;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Quantities;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * One hour's rollup as the aggregator keeps it in its state store: compact binary, no Avro (Avro is only for the
 * topic). Decimals are stored as their unscaled value at the schemas' scale 12.
 *
 * <p>Format (version 3): {@code 3, count:long, sum, billable, latestValue, min, max: decimal, latestType:byte,
 * latestTime, first, last: long, latestId: string, absoluteTime: long (Long.MIN_VALUE = none), absoluteId: string,
 * reverted: decimal, revertCount: long, resets: long, change: long} where decimal = length byte + two's-complement
 * unscaled bytes, string = int length + UTF-8. {@code change} is the aggregator task's number of the write (see
 * {@link #change}), last so that it is read without decoding the rest. Older versions are still read: version 2
 * (eight zero bytes where {@code change} is: change 0), version 1 (also without the reverts and resets: no reverts, no
 * ABSOLUTE counted). (Version 2 counted its size eight bytes too large; version 3 puts the change number there.)
 */
public final class RollupState {
    private static final byte VERSION = 3;
    private static final byte VERSION_WITHOUT_CHANGE = 2;
    private static final byte VERSION_WITHOUT_REVERTS = 1;
    private static final long NONE = Long.MIN_VALUE;

    long count;
    BigDecimal sum;
    BigDecimal billable;
    BigDecimal latestValue;
    BigDecimal min;
    BigDecimal max;
    ValueType latestType;
    long latestTime;
    long firstTime;
    long lastTime;
    String latestId;
    long absoluteTime = NONE;
    String absoluteId;
    /** Sum of the reverts applied to the hour; {@code sum} and {@code billable} are net of them. */
    BigDecimal reverted = dev.metering.schemas.Quantities.ZERO;
    long revertCount;
    /** How many ABSOLUTEs were applied to the hour: a DELTA accepted at a lower count was overwritten by one. */
    long resets;

    RollupState() {
    }

    public long count() {
        return count;
    }

    public BigDecimal billable() {
        return billable;
    }

    public long resets() {
        return resets;
    }

    /** The Avro value for {@code usage-rollups}. */
    public Rollup toRollup(String tenant, String billingAccountId, String featureCode, RollupWindow window, Instant updatedAt) {
        return Rollup.newBuilder()
                .setOrgId(tenant)
                .setBillingAccountId(billingAccountId)
                .setFeatureCode(featureCode)
                .setWindowSize(RollupWindow.SIZE)
                .setWindowStart(window.start())
                .setWindowEnd(window.end())
                .setEventCount(count)
                .setQuantitySum(sum)
                .setBillableQuantity(billable)
                .setLatestAbsoluteEventTime(absoluteTime == NONE ? null : Instant.ofEpochMilli(absoluteTime))
                .setLatestAbsoluteEventId(absoluteTime == NONE ? null : absoluteId)
                .setLatestValue(latestValue)
                .setLatestValueType(latestType)
                .setLatestEventTime(Instant.ofEpochMilli(latestTime))
                .setLatestEventId(latestId)
                .setMinValue(min)
                .setMaxValue(max)
                .setFirstEventTime(Instant.ofEpochMilli(firstTime))
                .setLastEventTime(Instant.ofEpochMilli(lastTime))
                .setRevertedQuantity(reverted)
                .setRevertCount(revertCount)
                .setUpdatedAt(updatedAt)
                .build();
    }

    /**
     * The binary form, stamped with {@code change}: the number the aggregator task gives this write (increasing within
     * the task), by which it tells after a restore which hours changed after its last emit.
     */
    public byte[] encode(long change) {
        byte[] latestIdBytes = latestId.getBytes(StandardCharsets.UTF_8);
        byte[] absoluteIdBytes = absoluteId == null ? new byte[0] : absoluteId.getBytes(StandardCharsets.UTF_8);
        byte[][] decimals = {unscaled(sum), unscaled(billable), unscaled(latestValue), unscaled(min), unscaled(max)};
        byte[] revertedBytes = unscaled(reverted);
        // version, count, latestType, latestTime, first, last, absoluteTime, the two strings, reverted, revertCount, resets, change
        int size = 1 + 8 + 1 + 8 * 4 + 4 + latestIdBytes.length + 4 + absoluteIdBytes.length + 1 + revertedBytes.length + 8 * 3;
        for (byte[] decimal : decimals) {
            size += 1 + decimal.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(size);
        buffer.put(VERSION).putLong(count);
        for (byte[] decimal : decimals) {
            buffer.put((byte) decimal.length).put(decimal);
        }
        buffer.put((byte) latestType.ordinal()).putLong(latestTime).putLong(firstTime).putLong(lastTime);
        buffer.putInt(latestIdBytes.length).put(latestIdBytes);
        buffer.putLong(absoluteTime).putInt(absoluteIdBytes.length).put(absoluteIdBytes);
        buffer.put((byte) revertedBytes.length).put(revertedBytes).putLong(revertCount).putLong(resets);
        buffer.putLong(change);
        return buffer.array();
    }

    /** The change number {@link #encode} stamped on these bytes; 0 for a state written before version 3. */
    public static long change(byte[] bytes) {
        return bytes[0] == VERSION ? ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong() : 0L;
    }

    public static RollupState decode(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        byte version = buffer.get();
        if (version != VERSION && version != VERSION_WITHOUT_CHANGE && version != VERSION_WITHOUT_REVERTS) {
            throw new IllegalStateException("unknown rollup state version " + version);
        }
        RollupState state = new RollupState();
        state.count = buffer.getLong();
        state.sum = decimal(buffer);
        state.billable = decimal(buffer);
        state.latestValue = decimal(buffer);
        state.min = decimal(buffer);
        state.max = decimal(buffer);
        state.latestType = ValueType.values()[buffer.get()];
        state.latestTime = buffer.getLong();
        state.firstTime = buffer.getLong();
        state.lastTime = buffer.getLong();
        state.latestId = string(buffer);
        state.absoluteTime = buffer.getLong();
        String absoluteId = string(buffer);
        state.absoluteId = state.absoluteTime == NONE ? null : absoluteId;
        if (version != VERSION_WITHOUT_REVERTS) {
            state.reverted = decimal(buffer);
            state.revertCount = buffer.getLong();
            state.resets = buffer.getLong();
        }
        return state;
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
