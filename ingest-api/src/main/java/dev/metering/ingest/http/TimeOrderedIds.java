package dev.metering.ingest.http;

import java.security.SecureRandom;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 12 bits that count up within one millisecond (method 1 of
 * RFC 9562 section 6.2, so ids of one process sort in the order they were made), then 62 random bits. Fresh ids for
 * requests that bring none of their own; never derived from a payload.
 */
public final class TimeOrderedIds {
    private static final int MAX_SEQUENCE = 0xFFF;

    private final SecureRandom random = new SecureRandom();
    private final LongSupplier millis;
    private long lastMillis = -1;
    private int sequence;

    public TimeOrderedIds() {
        this(System::currentTimeMillis);
    }

    TimeOrderedIds(LongSupplier millis) {
        this.millis = millis;
    }

    public UUID next() {
        long timestamp;
        int counter;
        synchronized (this) {
            timestamp = Math.max(millis.getAsLong(), lastMillis);
            if (timestamp == lastMillis) {
                if (sequence == MAX_SEQUENCE) { // 4096 ids in one millisecond: borrow the next one, order stays intact
                    timestamp++;
                    sequence = random.nextInt(0x400);
                } else {
                    sequence++;
                }
            } else {
                sequence = random.nextInt(0x400); // random start, room to count up
            }
            lastMillis = timestamp;
            counter = sequence;
        }
        long most = (timestamp & 0xFFFF_FFFF_FFFFL) << 16 | 0x7000L | counter;
        long least = random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL | 0x8000_0000_0000_0000L;
        return new UUID(most, least);
    }

    public String nextString() {
        return next().toString();
    }
}
