package dev.metering.bench.load;

import java.time.Instant;
import java.time.format.DateTimeFormatter;

/**
 * Deterministic usage events: event {@code n} of a workload is always the same, so the pipeline and the
 * naive baseline can be fed exactly the same events. Event times fall in the two hours before the workload's
 * base time, so every event lands in an open window.
 *
 * <p>Two traffic shapes: {@link Traffic#UNIFORM} spreads events evenly over every account and feature (the
 * worst case for any aggregation: almost nothing repeats); {@link Traffic#SKEWED} draws accounts and features
 * from a Zipf distribution (exponent {@value #ZIPF_EXPONENT}), so, as in real metering traffic, a few accounts
 * send most events (with 10,000 accounts the top 1 % send about 60 % of them).
 */
public final class Workload {
    /** How events are spread over accounts and features. */
    public enum Traffic { UNIFORM, SKEWED }

    public static final double ZIPF_EXPONENT = 1.1;

    /** One usage event in the terms all three APIs share. */
    public record Event(String eventId, String account, String feature, long quantity, Instant eventTime) {
    }

    private static final long TIME_SPREAD_SECONDS = 2 * 3600;

    private final String prefix;
    private final int accounts;
    private final int features;
    private final Instant base;
    private final Traffic traffic;
    private final double[] accountCdf;
    private final double[] featureCdf;

    /**
     * @param prefix   names this workload's event ids and accounts, so its rows can be told apart
     * @param accounts distinct billing accounts
     * @param features distinct feature codes
     * @param base     event times lie in the two hours before it
     */
    public Workload(String prefix, int accounts, int features, Instant base) {
        this(prefix, accounts, features, base, Traffic.UNIFORM);
    }

    public Workload(String prefix, int accounts, int features, Instant base, Traffic traffic) {
        if (accounts <= 0 || features <= 0) {
            throw new IllegalArgumentException("accounts and features must be > 0");
        }
        this.prefix = prefix;
        this.accounts = accounts;
        this.features = features;
        this.base = base;
        this.traffic = traffic;
        this.accountCdf = traffic == Traffic.SKEWED ? zipfCdf(accounts) : null;
        this.featureCdf = traffic == Traffic.SKEWED ? zipfCdf(features) : null;
    }

    public Traffic traffic() {
        return traffic;
    }

    public Event event(long n) {
        long mixed = (n * 0x9E3779B97F4A7C15L) >>> 1;
        long accountIndex;
        long featureIndex;
        if (traffic == Traffic.UNIFORM) {
            // A multiplicative hash, so consecutive events hit different accounts (and partitions).
            accountIndex = mixed % accounts;
            featureIndex = (mixed / accounts) % features;
        } else {
            accountIndex = draw(accountCdf, unit(mixed));
            featureIndex = draw(featureCdf, unit(Long.rotateLeft(mixed * 0xC2B2AE3D27D4EB4FL, 31) >>> 1));
        }
        return new Event(prefix + "-e" + n,
                account(accountIndex),
                "feature-" + featureIndex,
                1 + n % 10,
                base.minusSeconds((n * 7919) % TIME_SPREAD_SECONDS));
    }

    /** Cumulative Zipf probabilities of ranks 1..n (rank 1 = index 0, the most frequent). */
    private static double[] zipfCdf(int n) {
        double[] cdf = new double[n];
        double total = 0;
        for (int rank = 1; rank <= n; rank++) {
            total += 1 / Math.pow(rank, ZIPF_EXPONENT);
            cdf[rank - 1] = total;
        }
        for (int i = 0; i < n; i++) {
            cdf[i] /= total;
        }
        return cdf;
    }

    private static int draw(double[] cdf, double u) {
        int index = java.util.Arrays.binarySearch(cdf, u);
        return Math.min(cdf.length - 1, index >= 0 ? index : -index - 1);
    }

    /** A well-mixed 63-bit value as a double in [0, 1). */
    private static double unit(long mixed) {
        long z = mixed;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
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
