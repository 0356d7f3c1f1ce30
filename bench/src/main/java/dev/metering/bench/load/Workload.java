package dev.metering.bench.load;

import java.time.Instant;
import java.time.format.DateTimeFormatter;

/**
 * Deterministic usage events: event {@code n} of a workload is always the same, so the pipeline and the
 * naive baseline can be fed exactly the same events. Accounts are spread with a multiplicative hash so
 * consecutive events hit different accounts (and partitions); event times fall in the two hours before
 * the workload's base time, so every event lands in an open window.
 */
public final class Workload {
    /** One usage event in the terms all three APIs share. */
    public record Event(String eventId, String account, String feature, long quantity, Instant eventTime) {
    }

    private static final long TIME_SPREAD_SECONDS = 2 * 3600;

    private final String prefix;
    private final int accounts;
    private final int features;
    private final Instant base;

    /**
     * @param prefix   names this workload's event ids and accounts, so its rows can be told apart
     * @param accounts distinct billing accounts
     * @param features distinct feature codes
     * @param base     event times lie in the two hours before it
     */
    public Workload(String prefix, int accounts, int features, Instant base) {
        if (accounts <= 0 || features <= 0) {
            throw new IllegalArgumentException("accounts and features must be > 0");
        }
        this.prefix = prefix;
        this.accounts = accounts;
        this.features = features;
        this.base = base;
    }

    public Event event(long n) {
        long mixed = (n * 0x9E3779B97F4A7C15L) >>> 1;
        return new Event(prefix + "-e" + n,
                account(mixed % accounts),
                "feature-" + ((mixed / accounts) % features),
                1 + n % 10,
                base.minusSeconds((n * 7919) % TIME_SPREAD_SECONDS));
    }

    public String account(long index) {
        return prefix + "-acct-" + index;
    }

    /** The LIKE pattern matching every account of this workload. */
    public String accountPattern() {
        return prefix + "-acct-%";
    }

    /** Sum of the quantities of events {@code [0, count)}. */
    public long quantityOfFirst(long count) {
        long full = count / 10;
        long sum = full * 55;
        for (long n = full * 10; n < count; n++) {
            sum += 1 + n % 10;
        }
        return sum;
    }

    public static String iso(Instant instant) {
        return DateTimeFormatter.ISO_INSTANT.format(instant);
    }
}
