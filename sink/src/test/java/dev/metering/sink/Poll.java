package dev.metering.sink;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/** Waits for a condition (Awaitility), with a generous deadline (the build machine is slow and shared). */
final class Poll {
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    private Poll() {
    }

    static void until(String what, BooleanSupplier condition) {
        until(what, condition, () -> "");
    }

    /** Exceptions while checking count as "not yet" (e.g. the database still starting); on time-out, {@code state} says where things stood. */
    static void until(String what, BooleanSupplier condition, Supplier<String> state) {
        try {
            Awaitility.await(what).atMost(TIMEOUT).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(condition::getAsBoolean);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("Timed out after " + TIMEOUT + " waiting for " + what + " " + state.get(), e);
        }
    }
}
