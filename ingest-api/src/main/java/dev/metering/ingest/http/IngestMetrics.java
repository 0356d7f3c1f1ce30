package dev.metering.ingest.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The service's meters: requests and latencies, events accepted and rejected (by reason), produce errors. */
public final class IngestMetrics {
    private final MeterRegistry registry;

    public IngestMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void request(String api, int status, Duration duration) {
        Timer.builder("ingest.http.requests")
                .description("HTTP requests by API and status, with latencies")
                .tag("api", api)
                .tag("status", Integer.toString(status))
                .publishPercentileHistogram()
                .register(registry)
                .record(duration);
    }

    public void eventsAccepted(String api, int count) {
        Counter.builder("ingest.events.accepted").description("Events acknowledged by Kafka").tag("api", api)
                .register(registry).increment(count);
    }

    public void eventsRejected(String api, String reason, int count) {
        Counter.builder("ingest.events.rejected").description("Events refused, by reason").tag("api", api).tag("reason", reason)
                .register(registry).increment(count);
    }

    /**
     * A JSON member the API does not know, skipped as protojson's DiscardUnknown skips it (Frontier routes only). The
     * count tells an operator that clients send fields this server ignores (a newer Frontier, a typo); the names are
     * not tags, since clients choose them.
     */
    public void unknownFieldIgnored(String api) {
        Counter.builder("ingest.unknown.fields.ignored").description("Unknown JSON fields skipped, as Frontier skips them").tag("api", api)
                .register(registry).increment();
    }

    public void produceError(Throwable error) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        Counter.builder("ingest.produce.errors").description("Events Kafka did not acknowledge").tag("exception", cause.getClass().getSimpleName())
                .register(registry).increment();
    }
}
