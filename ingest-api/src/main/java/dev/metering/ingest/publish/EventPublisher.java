package dev.metering.ingest.publish;

import dev.metering.avro.UsageEvent;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where accepted usage events go. The endpoints answer 2xx only once {@link #publish} completed: the events are then
 * durable. Kafka's implementation is {@link dev.metering.ingest.kafka.KafkaEventPublisher}; tests use a fake.
 */
public interface EventPublisher extends AutoCloseable {
    /**
     * Completes when every event is durably stored, or fails with a {@link PublishFailure} (never blocks the caller).
     *
     * @param requestVerdicts ask the aggregator for a verdict on each event ({@code usage-verdicts}; reverts always get one)
     */
    CompletableFuture<Void> publish(List<UsageEvent> events, boolean requestVerdicts);

    default CompletableFuture<Void> publish(List<UsageEvent> events) {
        return publish(events, false);
    }

    /** Null when events can be published, otherwise why not (for {@code /health/ready}; no secrets, no exception text). */
    String notReadyReason();

    /** Requests whose events were handed over but are not yet all acknowledged (or failed), for a gauge. */
    int pendingRequests();

    /** Answers what is in flight (flushes), then releases the resources. */
    @Override
    void close();
}
