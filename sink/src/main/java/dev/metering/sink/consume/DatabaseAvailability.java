package dev.metering.sink.consume;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.clients.consumer.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether PostgreSQL answers, as the sink last saw it: during an outage every owned partition is paused (the consumer
 * keeps polling, so it stays in its group, without fetching more), the outage is logged once at WARN and its cause is
 * what /health/ready reports; when PostgreSQL answers again the partitions whose position is known are resumed.
 * Without records to write an outage would go unnoticed, so the loop asks PostgreSQL now and then
 * ({@link #checkDue()}). Used from the loop's thread; {@link #problem()} from any.
 */
final class DatabaseAvailability {
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseAvailability.class);
    static final String NOT_CONTACTED = "PostgreSQL not contacted yet";

    private final Consumer<?, ?> consumer;
    private final PartitionPositions positions;
    private final SinkMetrics metrics;
    private final Duration checkInterval;
    private final Clock clock;

    private volatile String problem = NOT_CONTACTED;
    private boolean outageLogged;
    private boolean pausedForOutage;
    private Instant lastContact = Instant.EPOCH;

    DatabaseAvailability(Consumer<?, ?> consumer, PartitionPositions positions, SinkMetrics metrics, Duration checkInterval, Clock clock) {
        this.consumer = consumer;
        this.positions = positions;
        this.metrics = metrics;
        this.checkInterval = checkInterval;
        this.clock = clock;
    }

    /** PostgreSQL failed while {@code doing} something: count it, log the first failure of an outage, pause every owned partition. */
    void unreachable(String doing, RuntimeException e) {
        metrics.databaseErrors.increment();
        metrics.databaseAvailable(false);
        String text = "PostgreSQL failed while " + doing + ": " + rootMessage(e);
        if (!outageLogged) {
            LOG.warn("{}; retrying with backoff (position kept, nothing lost)", text);
            outageLogged = true;
        } else {
            LOG.debug(text);
        }
        problem = text;
        if (!pausedForOutage) {
            consumer.pause(consumer.assignment());
            pausedForOutage = true;
        }
    }

    /** The idle check failed: as {@link #unreachable}, and the next check comes after the interval, not on every poll. */
    void checkFailed(RuntimeException e) {
        lastContact = clock.instant();
        unreachable("checking the connection", e);
    }

    /**
     * PostgreSQL answered. The partitions paused for an outage are resumed, unless a batch is still waiting to be written
     * (it is written first, then they are resumed; fetching more meanwhile would only pile up).
     */
    void reachable(boolean batchWaiting) {
        if (outageLogged) {
            LOG.info("PostgreSQL reachable again; resuming");
            outageLogged = false;
        }
        problem = null;
        if (pausedForOutage && !batchWaiting) {
            consumer.resume(positions.consumable());
            pausedForOutage = false;
        }
        metrics.databaseAvailable(true);
        lastContact = clock.instant();
    }

    /** Whether the interval since PostgreSQL last answered (or the last failed check) has passed. */
    boolean checkDue() {
        return Duration.between(lastContact, clock.instant()).compareTo(checkInterval) >= 0;
    }

    boolean pausedForOutage() {
        return pausedForOutage;
    }

    /** Null when PostgreSQL answered last time, otherwise what failed (for /health/ready). */
    String problem() {
        return problem;
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
