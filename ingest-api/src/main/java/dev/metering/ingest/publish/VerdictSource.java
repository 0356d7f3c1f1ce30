package dev.metering.ingest.publish;

import dev.metering.schemas.Verdict;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * The aggregator's verdicts on events published with verdicts requested, by event identity ({@link Verdict#key}).
 * Kafka's implementation reads {@code usage-verdicts} ({@link dev.metering.ingest.kafka.VerdictWaiter}).
 */
public interface VerdictSource extends AutoCloseable {
    /**
     * The verdict of the event with this identity key, or a {@link java.util.concurrent.TimeoutException} after
     * {@code timeout}. Call it <em>before</em> publishing the event, so the verdict cannot pass unseen.
     */
    CompletableFuture<Verdict> await(String key, Duration timeout);

    /** Completes once verdicts written from now on are seen (for tests and readiness). */
    CompletableFuture<Void> reading();

    /** Identities waited for right now (a gauge). */
    int waiting();

    @Override
    void close();
}
