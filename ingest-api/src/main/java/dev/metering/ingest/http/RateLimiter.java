package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A token bucket per credential: {@code burst} requests at once, refilled at {@code perSecond}. Keys are
 * authenticated principals only, so the map stays as small as the set of credentials.
 */
public final class RateLimiter {
    private final double perSecond;
    private final double burst;
    private final LongSupplier nanoTime;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimiter(double perSecond, int burst) {
        this(perSecond, burst, System::nanoTime);
    }

    RateLimiter(double perSecond, int burst, LongSupplier nanoTime) {
        this.perSecond = perSecond;
        this.burst = Math.max(1, burst);
        this.nanoTime = nanoTime;
    }

    /** @throws ApiException RATE_LIMITED with the seconds until a request would be allowed */
    public void acquire(String principal) {
        if (perSecond <= 0) {
            return;
        }
        long waitNanos = buckets.computeIfAbsent(principal, key -> new Bucket(burst, nanoTime.getAsLong())).take();
        if (waitNanos > 0) {
            long seconds = Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
            throw new ApiException(ErrorKind.RATE_LIMITED, "rate limit of " + perSecond + " requests per second exceeded for " + principal
                    + "; retry after " + seconds + "s", seconds);
        }
    }

    private final class Bucket {
        private double tokens;
        private long updatedNanos;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updatedNanos = now;
        }

        /** 0 when a token was taken, otherwise nanoseconds until one is available. */
        synchronized long take() {
            long now = nanoTime.getAsLong();
            tokens = Math.min(burst, tokens + (now - updatedNanos) * perSecond / 1e9);
            updatedNanos = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) / perSecond * 1e9);
        }
    }
}
