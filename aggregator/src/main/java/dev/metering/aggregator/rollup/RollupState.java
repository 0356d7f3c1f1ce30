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
 * <p>Format (version 2): {@code 2, count:long, sum, billable, latestValue, min, max: decimal, latestType:byte,
 * latestTime, first, last: long, latestId: string, absoluteTime: long (Long.MIN_VALUE = none), absoluteId: string,
 * reverted: decimal, revertCount: long, resets: long} where decimal = length byte + two's-complement unscaled bytes,
 * string = int length + UTF-8. Version 1 (without the last three) is still read: no reverts, no ABSOLUTE counted.
 */
public final class RollupState {
    private static final byte VERSION = 2;
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

    public byte[] encode() {
        byte[] latestIdBytes = latestId.getBytes(StandardCharsets.UTF_8);
        byte[] absoluteIdBytes = absoluteId == null ? new byte[0] : absoluteId.getBytes(StandardCharsets.UTF_8);
        byte[][] decimals = {unscaled(sum), unscaled(billable), unscaled(latestValue), unscaled(min), unscaled(max)};
        byte[] revertedBytes = unscaled(reverted);
        int size = 1 + 8 + 1 + 8 * 4 + 4 + latestIdBytes.length + 8 + 4 + absoluteIdBytes.length + 1 + revertedBytes.length + 16;
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
        return buffer.array();
    }

    public static RollupState decode(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        byte version = buffer.get();
        if (version != VERSION && version != VERSION_WITHOUT_REVERTS) {
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
        if (version == VERSION) {
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
