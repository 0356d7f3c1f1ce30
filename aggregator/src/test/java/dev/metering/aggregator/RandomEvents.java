package dev.metering.aggregator;

import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Random;
import java.util.UUID;

/**
 * Random but reproducible events that the aggregator must accept: event times up to 40 h back (inside the
 * 48 h grace) and up to 4 min ahead (inside the 5 min skew), some exactly on hour boundaries, some sharing
 * an event time (ties), DELTA and ABSOLUTE, decimals a double would get wrong; three tenants sharing account ids
 * and event ids, in random id spaces.
 */
final class RandomEvents {
    private static final String[] FEATURES = {"api-calls", "storage-gb", "seats", "egress"};
    private static final String[] TENANTS = {null, "org-a", "org-b"};
    private static final IdSpace[] ID_SPACES = IdSpace.values();
    private final Random random;
    private final Instant now;
    private final int accounts;
    private final String idPrefix;

    RandomEvents(long seed, Instant now, int accounts, String idPrefix) {
        this.random = new Random(seed);
        this.now = now.truncatedTo(ChronoUnit.MILLIS);
        this.accounts = accounts;
        this.idPrefix = idPrefix;
    }

    Random random() {
        return random;
    }

    UsageEvent next(int index) {
        Instant eventTime = now.minusMillis((long) (random.nextDouble() * Duration.ofHours(40).toMillis()))
                .plusMillis(random.nextInt((int) Duration.ofMinutes(4).toMillis()));
        int shape = random.nextInt(100);
        if (shape < 2) {
            eventTime = eventTime.truncatedTo(ChronoUnit.HOURS); // exactly on a window boundary
        } else if (shape < 3) {
            eventTime = now.minus(Duration.ofHours(3)); // shared by many events: ties broken by event id
        }
        BigDecimal quantity = switch (random.nextInt(4)) {
            case 0 -> new BigDecimal("0.1");
            case 1 -> new BigDecimal("0.2");
            case 2 -> BigDecimal.valueOf(random.nextInt(1_000_000));
            default -> new BigDecimal(BigDecimal.valueOf(random.nextLong() & Long.MAX_VALUE).toBigInteger(), 12);
        };
        return UsageEvent.newBuilder()
                // The same ids in every tenant (index / 3), and accounts overlap across tenants: unique per identity only.
                .setEventId(idPrefix + index / TENANTS.length + (index % 7 == 0 ? "-" + new UUID(random.nextLong(), random.nextLong()) : ""))
                .setOrgId(TENANTS[index % TENANTS.length])
                .setIdSpace(ID_SPACES[random.nextInt(ID_SPACES.length)])
                .setBillingAccountId("acct-" + random.nextInt(accounts))
                .setFeatureCode(FEATURES[random.nextInt(FEATURES.length)])
                .setQuantity(quantity.setScale(12))
                .setValueType(random.nextInt(5) == 0 ? ValueType.ABSOLUTE : ValueType.DELTA)
                .setEventTime(eventTime)
                .setReceivedAt(now)
                .setOrigin("aggregator-it")
                .build();
    }
}
