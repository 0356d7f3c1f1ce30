package dev.metering.sink.consume;

import dev.metering.sink.store.RejectedRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The sink's Prometheus metrics (names as scraped: dots become underscores, counters end in _total). */
public final class SinkMetrics {
    private final MeterRegistry registry;
    final Counter recordsConsumed;
    final Counter rowsUpserted;
    final Counter staleIgnored;
    final Counter databaseErrors;
    final Counter offsetConflicts;
    final Counter superseded;
    final Timer batchLatency;
    private final AtomicLong consumerLag = new AtomicLong();
    private final AtomicInteger databaseAvailable = new AtomicInteger(0);

    public SinkMetrics(MeterRegistry registry) {
        this.registry = registry;
        recordsConsumed = Counter.builder("sink.records.consumed").description("Records of usage-rollups consumed and committed to PostgreSQL").register(registry);
        rowsUpserted = Counter.builder("sink.rows.upserted").description("Rollup rows inserted or updated").register(registry);
        staleIgnored = Counter.builder("sink.updates.stale").description("Rollup versions not written because PostgreSQL already had a newer one").register(registry);
        databaseErrors = Counter.builder("sink.db.errors").description("Failed database operations (each one is retried)").register(registry);
        offsetConflicts = Counter.builder("sink.offset.conflicts").description("Batches rolled back because the stored offsets had been moved by someone else").register(registry);
        superseded = Counter.builder("sink.records.superseded").description("Records of windows the sink no longer stores (DAY rollups of an "
                + "earlier aggregator; days are composed from hours), consumed and skipped").tag("window_size", "DAY").register(registry);
        batchLatency = Timer.builder("sink.batch.latency").description("Time of one successful batch transaction in PostgreSQL").register(registry);
        registry.gauge("sink.consumer.lag", consumerLag);
        registry.gauge("sink.db.available", databaseAvailable);
        for (RejectedRecord.Reason reason : RejectedRecord.Reason.values()) {
            rejected(reason); // registered up front so dashboards see zeros
        }
    }

    Counter rejected(RejectedRecord.Reason reason) {
        return Counter.builder("sink.records.rejected").description("Records stored in sink_rejected_records instead of usage_rollups")
                .tag("reason", reason.name()).register(registry);
    }

    void consumerLag(long lag) {
        consumerLag.set(lag);
    }

    void databaseAvailable(boolean available) {
        databaseAvailable.set(available ? 1 : 0);
    }
}
