package dev.metering.aggregator;

import dev.metering.schemas.DeadLetter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/**
 * The aggregator's Prometheus metrics. Counted when a record is processed; a transaction that is
 * aborted and retried counts its records again, so these are for operations, not for billing.
 */
public final class AggregatorMetrics {
    private final Counter read;
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter emitted;
    private final Map<DeadLetter.Reason, Counter> deadLettered = new EnumMap<>(DeadLetter.Reason.class);
    private final Timer endToEndLag;
    private final Counter unmeasuredLag;
    /**
     * A longer lag is a producer's wrong {@code received_at}, not a lag (direct producers set it). A timer could not hold
     * it either: it counts nanoseconds in a long (292 years), and the overflow stopped the record's partition.
     */
    static final Duration MEASURABLE_LAG = Duration.ofDays(366);

    public AggregatorMetrics(MeterRegistry registry) {
        read = Counter.builder("metering.aggregator.records.read")
                .description("Records read from usage-events, valid or not")
                .register(registry);
        accepted = Counter.builder("metering.aggregator.events.accepted")
                .description("Events validated, deduplicated and added to their rollups")
                .register(registry);
        duplicates = Counter.builder("metering.aggregator.duplicates.dropped")
                .description("Exact duplicates (same billing account, event id and payload) dropped")
                .register(registry);
        emitted = Counter.builder("metering.aggregator.rollups.emitted")
                .description("Rollup records sent to usage-rollups (each changed hour once per emit interval)")
                .register(registry);
        for (DeadLetter.Reason reason : DeadLetter.Reason.values()) {
            deadLettered.put(reason, Counter.builder("metering.aggregator.events.dead.lettered")
                    .description("Events sent to usage-events-dlq, by reason")
                    .tag("reason", reason.name())
                    .register(registry));
        }
        endToEndLag = Timer.builder("metering.aggregator.end.to.end.lag")
                .description("From an accepted event's received_at to its acceptance (its rollup is sent within AGGREGATOR_EMIT_INTERVAL)")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofHours(1))
                .register(registry);
        unmeasuredLag = Counter.builder("metering.aggregator.end.to.end.lag.unmeasured")
                .description("Accepted events whose received_at lies more than a year before their acceptance (a producer's clock or field "
                        + "is wrong); not in the lag histogram")
                .register(registry);
    }

    public void read() {
        read.increment();
    }

    public void accepted(Duration lag) {
        accepted.increment();
        if (lag.compareTo(MEASURABLE_LAG) > 0) {
            unmeasuredLag.increment();
        } else {
            endToEndLag.record(lag.isNegative() ? Duration.ZERO : lag);
        }
    }

    public void duplicate() {
        duplicates.increment();
    }

    public void emitted(int rollups) {
        emitted.increment(rollups);
    }

    public double emittedCount() {
        return emitted.count();
    }

    public void deadLettered(DeadLetter.Reason reason) {
        deadLettered.get(reason).increment();
    }

    public double readCount() {
        return read.count();
    }

    public double acceptedCount() {
        return accepted.count();
    }

    public double duplicateCount() {
        return duplicates.count();
    }

    public double deadLetteredCount(DeadLetter.Reason reason) {
        return deadLettered.get(reason).count();
    }
}
