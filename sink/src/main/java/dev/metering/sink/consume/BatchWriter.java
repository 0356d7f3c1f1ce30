package dev.metering.sink.consume;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.OffsetConflictException;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RollupStore;
import dev.metering.sink.store.SinkDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one batch (rollups, rejected records and offsets in one transaction) and tells the metrics and the log what
 * it did. An outage ({@link org.jdbi.v3.core.JdbiException}, {@link dev.metering.sink.store.DatabaseFailure}) is thrown
 * as it is: the caller keeps the batch and retries it.
 */
final class BatchWriter {
    private static final Logger LOG = LoggerFactory.getLogger(BatchWriter.class);

    enum Outcome {
        /** Committed; PostgreSQL holds the batch's next offsets. */
        WRITTEN,
        /** Rolled back: a stored offset was not the expected one (another sink moved it); read the offsets again. */
        OFFSETS_MOVED
    }

    private final SinkDatabase database;
    private final SinkMetrics metrics;
    private boolean supersededLogged;

    BatchWriter(SinkDatabase database, SinkMetrics metrics) {
        this.database = database;
        this.metrics = metrics;
    }

    Outcome write(Batch batch, Map<TopicPartition, Long> expectedOffsets) {
        long started = System.nanoTime();
        RollupStore.WriteResult result;
        try {
            result = database.write(batch, expectedOffsets);
        } catch (OffsetConflictException e) {
            LOG.warn(e.getMessage());
            metrics.offsetConflicts.increment();
            return Outcome.OFFSETS_MOVED;
        }
        metrics.batchLatency.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
        metrics.recordsConsumed.increment(batch.records());
        metrics.rowsUpserted.increment(result.rowsUpserted());
        metrics.staleIgnored.increment(result.staleIgnored());
        List<RejectedRecord> rejected = new ArrayList<>(batch.rejected());
        rejected.addAll(result.refused());
        rejected.forEach(record -> {
            metrics.rejected(record.reason()).increment();
            LOG.warn("Rejected {}-{}@{}: {} ({}); kept in sink_rejected_records", record.topic(), record.partition(),
                    record.recordOffset(), record.reason(), record.detail());
        });
        if (batch.superseded() > 0) {
            metrics.superseded.increment(batch.superseded());
            if (!supersededLogged) {
                LOG.info("Skipping DAY rollups (an aggregator of an earlier version is producing them): days are composed from the "
                        + "hours in PostgreSQL now. Counted in sink_records_superseded_total; logged once.");
                supersededLogged = true;
            }
        }
        return Outcome.WRITTEN;
    }
}
