package dev.metering.aggregator.dedupe;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The identities of accepted events, remembered for the dedupe window by arrival (stream) time, in a key-value
 * store: a lookup is two point reads, never a range scan.
 *
 * <p>Keys are time-bucketed: {@code bucket (8 bytes, big-endian) + identity (UTF-8)}, where {@code bucket =
 * acceptedAt / window}. An id accepted within the window before {@code now} lies in the bucket of {@code now} or the
 * one before, so those two are read; the value holds the exact acceptance time and the fingerprint, and only an entry
 * with {@code acceptedAt >= now - window} counts. Buckets older than the previous one hold only expired entries; they
 * are deleted by {@link #purge} (a punctuation), which changes no decision: decisions depend on the stream time
 * only, so a replay decides the same. An id is kept between one and two windows plus the purge lag.
 */
public final class AcceptedIds {
    private final KeyValueStore<Bytes, byte[]> store;
    private final long window;

    public AcceptedIds(KeyValueStore<Bytes, byte[]> store, Duration window) {
        this.store = store;
        this.window = window.toMillis();
    }

    /** Fingerprints are SHA-256 digests. */
    public static final int FINGERPRINT_LENGTH = 32;

    /**
     * One remembered identity: when it was accepted, the event's fingerprint and what else the aggregator keeps about
     * it ({@link AcceptedEvent}; empty for entries written before reverts existed).
     */
    public record Entry(Bytes storeKey, long acceptedAt, byte[] fingerprint, byte[] details) {
    }

    /** The fingerprint of the event accepted with this identity within the window before {@code now}, or null. */
    public byte[] acceptedFingerprint(String identity, long now) {
        Entry entry = lookup(identity, now);
        return entry == null ? null : entry.fingerprint();
    }

    /** The entry of the event accepted with this identity within the window before {@code now}, or null. */
    public Entry lookup(String identity, long now) {
        byte[] identityBytes = identity.getBytes(StandardCharsets.UTF_8);
        long bucket = bucket(now);
        for (long b = bucket; b >= Math.max(0, bucket - 1); b--) {
            Bytes key = key(b, identityBytes);
            byte[] value = store.get(key);
            if (value != null && ByteBuffer.wrap(value).getLong() >= now - window) {
                int detailsAt = Long.BYTES + FINGERPRINT_LENGTH;
                return new Entry(key, ByteBuffer.wrap(value).getLong(), Arrays.copyOfRange(value, Long.BYTES, detailsAt),
                        Arrays.copyOfRange(value, detailsAt, value.length));
            }
        }
        return null;
    }

    public void remember(String identity, byte[] fingerprint, long now) {
        remember(identity, fingerprint, new byte[0], now);
    }

    public void remember(String identity, byte[] fingerprint, byte[] details, long now) {
        store.put(key(bucket(now), identity.getBytes(StandardCharsets.UTF_8)), value(now, fingerprint, details));
    }

    /** Replaces an entry's details, keeping its bucket and acceptance time (so its expiry does not move). */
    public void update(Entry entry, byte[] details) {
        store.put(entry.storeKey(), value(entry.acceptedAt(), entry.fingerprint(), details));
    }

    private static byte[] value(long acceptedAt, byte[] fingerprint, byte[] details) {
        if (fingerprint.length != FINGERPRINT_LENGTH) {
            throw new IllegalArgumentException("fingerprint of " + fingerprint.length + " bytes");
        }
        return ByteBuffer.allocate(Long.BYTES + fingerprint.length + details.length).putLong(acceptedAt).put(fingerprint).put(details).array();
    }

    /**
     * Deletes up to {@code limit} entries of buckets before the previous one (all expired at {@code now}).
     *
     * @return how many were deleted
     */
    public int purge(long now, int limit) {
        long firstLive = bucket(now) - 1;
        if (firstLive <= 0) {
            return 0;
        }
        List<Bytes> expired = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> iterator = store.range(Bytes.wrap(new byte[0]), bucketStart(firstLive))) {
            while (iterator.hasNext() && expired.size() < limit) {
                KeyValue<Bytes, byte[]> entry = iterator.next();
                if (ByteBuffer.wrap(entry.key.get()).getLong() < firstLive) {
                    expired.add(entry.key);
                }
            }
        }
        expired.forEach(store::delete);
        return expired.size();
    }

    private long bucket(long time) {
        return Math.max(0, time) / window;
    }

    private static Bytes bucketStart(long bucket) {
        return Bytes.wrap(ByteBuffer.allocate(Long.BYTES).putLong(bucket).array());
    }

    private static Bytes key(long bucket, byte[] identity) {
        return Bytes.wrap(ByteBuffer.allocate(Long.BYTES + identity.length).putLong(bucket).put(identity).array());
    }
}
