package dev.metering.ingest.revert;

import dev.metering.avro.UsageEvent;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ingest.publish.VerdictSource;
import dev.metering.schemas.Verdict;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Best-effort answer to "were these usages applied before?", for APIs that tell a client so (Frontier answers 409
 * for a usage id it already applied, and still applies the others). The usages are produced with
 * {@link Verdict#REQUESTED_HEADER}, so the aggregator writes a verdict for each (APPLIED, DUPLICATE or REJECTED); once
 * Kafka acknowledged them, the check waits up to {@code wait} for those verdicts. A usage whose verdict did not come
 * in time counts as new: the aggregator's dedupe stays the authority, so the count is right either way.
 */
public final class DuplicateCheck {
    private final EventPublisher publisher;
    private final VerdictSource verdicts;
    private final Duration wait;
    private final Duration deliveryTimeout;

    public DuplicateCheck(EventPublisher publisher, VerdictSource verdicts, Duration wait, Duration deliveryTimeout) {
        this.publisher = publisher;
        this.verdicts = verdicts;
        this.wait = wait;
        this.deliveryTimeout = deliveryTimeout;
    }

    /**
     * Produces the (validated, normalised) usages like {@link EventPublisher#publish} and completes, once Kafka
     * acknowledged them, with one verdict per usage in the same order (null: none within the wait). Fails like
     * {@code publish} when Kafka did not acknowledge.
     */
    public CompletableFuture<List<Verdict>> verdicts(List<UsageEvent> usages) {
        List<CompletableFuture<Verdict>> awaited = new ArrayList<>(usages.size());
        Duration longest = deliveryTimeout.plusSeconds(5).plus(wait);
        for (UsageEvent usage : usages) {
            awaited.add(verdicts.await(RevertService.key(usage), longest));
        }
        return publisher.publish(usages, true)
                .whenComplete((ok, error) -> {
                    if (error != null) {
                        awaited.forEach(future -> future.cancel(false));
                    }
                })
                .thenCompose(ok -> CompletableFuture.allOf(awaited.toArray(CompletableFuture[]::new))
                        .exceptionally(error -> null)
                        .completeOnTimeout(null, wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .thenApply(ok -> awaited.stream().map(future -> future.isDone() && !future.isCompletedExceptionally() ? future.join() : null).toList());
    }

    /** Whether any of the verdicts says the usage was applied before (Frontier's 409 {@code already_exists}). */
    public static boolean anyAlreadyApplied(List<Verdict> verdicts) {
        return verdicts.stream().anyMatch(verdict -> verdict != null && verdict.outcome() == Verdict.Outcome.DUPLICATE);
    }
}
