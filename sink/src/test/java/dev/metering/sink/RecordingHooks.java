package dev.metering.sink;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.BatchHooks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;

/**
 * Records every committed batch, and simulates a crash (throws {@link SimulatedCrash}, which stops the
 * sink's thread like a dead process) at a chosen point of a chosen batch.
 */
class RecordingHooks implements BatchHooks {
    enum CrashPoint { NEVER, AFTER_UPSERTS, AFTER_COMMIT }

    /** What one committed batch covered in one partition. */
    record Committed(TopicPartition partition, long firstOffset, long nextOffset, int records) {
    }

    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String where) {
            super("simulated crash " + where);
        }
    }

    private final CrashPoint crashPoint;
    private final int crashOnBatch;
    private final AtomicInteger batches = new AtomicInteger();
    private final List<Committed> committed = new ArrayList<>();
    private final List<Batch> committedBatches = new ArrayList<>();
    private volatile Batch crashedBatch;

    RecordingHooks(CrashPoint crashPoint, int crashOnBatch) {
        this.crashPoint = crashPoint;
        this.crashOnBatch = crashOnBatch;
    }

    static RecordingHooks recording() {
        return new RecordingHooks(CrashPoint.NEVER, 0);
    }

    @Override
    public void afterUpserts(Batch batch) {
        if (crashPoint == CrashPoint.AFTER_UPSERTS && batches.incrementAndGet() == crashOnBatch) {
            crashedBatch = batch;
            throw new SimulatedCrash("after the upserts of batch " + crashOnBatch + ", before the offsets and the commit");
        }
    }

    @Override
    public void afterCommit(Batch batch) {
        synchronized (this) {
            committedBatches.add(batch);
            batch.partitions().forEach((partition, part) ->
                    committed.add(new Committed(partition, part.firstOffset(), part.nextOffset(), part.records())));
        }
        if (crashPoint == CrashPoint.AFTER_COMMIT && batches.incrementAndGet() == crashOnBatch) {
            crashedBatch = batch;
            throw new SimulatedCrash("after committing batch " + crashOnBatch);
        }
    }

    synchronized List<Committed> committed() {
        return List.copyOf(committed);
    }

    synchronized List<Batch> committedBatches() {
        return List.copyOf(committedBatches);
    }

    synchronized int committedRecords() {
        return committed.stream().mapToInt(Committed::records).sum();
    }

    Batch crashedBatch() {
        return crashedBatch;
    }
}
