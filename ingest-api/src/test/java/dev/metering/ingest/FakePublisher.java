package dev.metering.ingest;

import dev.metering.avro.UsageEvent;
import dev.metering.ingest.publish.Backend;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ingest.publish.PublishFailure;
import dev.metering.ingest.publish.VerdictSource;
import dev.metering.schemas.Verdict;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A publisher without a broker for the HTTP contract tests: it keeps every event it was given, in order, and
 * acknowledges at once; {@link #down} makes it fail like Kafka not acknowledging (the API answers 503) and report
 * not ready. Its verdict source answers as if no aggregator ran and its wait were over (a revert answers 503, a
 * duplicate check counts every usage as new), unless a test {@link #answer}s.
 */
final class FakePublisher implements EventPublisher {
    /** One call of {@link #publish}. */
    record Call(List<UsageEvent> events, boolean verdictsRequested) {
    }

    private final List<Call> calls = new ArrayList<>();
    private volatile boolean down;
    private volatile java.util.function.Function<String, Verdict> verdicts = key -> null;

    /** A backend handing out this publisher (never closed by an API: several may share it) and a verdict source. */
    Backend backend() {
        FakePublisher self = this;
        return new Backend() {
            @Override
            public EventPublisher publisher(Consumer<Throwable> publishErrors) {
                return new EventPublisher() {
                    @Override
                    public CompletableFuture<Void> publish(List<UsageEvent> events, boolean requestVerdicts) {
                        CompletableFuture<Void> result = self.publish(events, requestVerdicts);
                        result.whenComplete((ok, error) -> {
                            if (error != null) {
                                publishErrors.accept(error);
                            }
                        });
                        return result;
                    }

                    @Override
                    public String notReadyReason() {
                        return self.notReadyReason();
                    }

                    @Override
                    public int pendingRequests() {
                        return 0;
                    }

                    @Override
                    public void close() {
                    }
                };
            }

            @Override
            public VerdictSource verdicts() {
                return new VerdictSource() {
                    @Override
                    public CompletableFuture<Verdict> await(String key, Duration timeout) {
                        Verdict verdict = verdicts.apply(key);
                        // no aggregator: the wait is over at once (a revert answers 503, a duplicate check counts the usage as new)
                        return verdict != null ? CompletableFuture.completedFuture(verdict)
                                : CompletableFuture.failedFuture(new TimeoutException("no verdict (fake)"));
                    }

                    @Override
                    public CompletableFuture<Void> reading() {
                        return CompletableFuture.completedFuture(null);
                    }

                    @Override
                    public int waiting() {
                        return 0;
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
    }

    @Override
    public synchronized CompletableFuture<Void> publish(List<UsageEvent> events, boolean requestVerdicts) {
        if (down) {
            return CompletableFuture.failedFuture(new PublishFailure("fake: Kafka down", null, false));
        }
        calls.add(new Call(List.copyOf(events), requestVerdicts));
        return CompletableFuture.completedFuture(null);
    }

    /** Fails every publish from now on (true) or acknowledges again (false). */
    void down(boolean down) {
        this.down = down;
    }

    /** The verdict the fake verdict source answers at once for an event identity ({@link Verdict#key}), or null: none. */
    void answer(java.util.function.Function<String, Verdict> verdicts) {
        this.verdicts = verdicts;
    }

    synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** Every event published, in order. */
    synchronized List<UsageEvent> events() {
        return calls.stream().flatMap(call -> call.events().stream()).toList();
    }

    @Override
    public String notReadyReason() {
        return down ? "Kafka: fake down" : null;
    }

    @Override
    public int pendingRequests() {
        return 0;
    }

    @Override
    public void close() {
    }
}
