package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {
    private final AtomicLong now = new AtomicLong();

    @Test
    void allowsTheBurstThenTheRatePerCredential() {
        RateLimiter limiter = new RateLimiter(2, 3, now::get);
        limiter.acquire("a");
        limiter.acquire("a");
        limiter.acquire("a");
        assertThatThrownBy(() -> limiter.acquire("a"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ErrorKind.RATE_LIMITED);
                    assertThat(e.retryAfterSeconds()).isEqualTo(1);
                });
        limiter.acquire("b"); // its own bucket

        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(500)); // one token back at 2/s
        limiter.acquire("a");
        assertThatThrownBy(() -> limiter.acquire("a")).isInstanceOf(ApiException.class);
    }

    @Test
    void retryAfterCoversTheWaitForASlowRate() {
        RateLimiter limiter = new RateLimiter(0.1, 1, now::get);
        limiter.acquire("a");
        assertThatThrownBy(() -> limiter.acquire("a"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.retryAfterSeconds()).isEqualTo(10));
    }

    @Test
    void zeroRateDisablesTheLimit() {
        RateLimiter limiter = new RateLimiter(0, 0, now::get);
        // 10,000 requests in the same instant: any limit at all would refuse one.
        org.assertj.core.api.Assertions.assertThatCode(() -> {
            for (int i = 0; i < 10_000; i++) {
                limiter.acquire("a");
            }
        }).doesNotThrowAnyException();
    }
}
