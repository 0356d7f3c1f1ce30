package dev.metering.sink.consume;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.DatabaseFailure;
import dev.metering.sink.store.OffsetConflictException;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RollupStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer loop: poll, write the batch to PostgreSQL (rollups and offsets in one transaction),
 * repeat. PostgreSQL holds the position; nothing is committed to Kafka.
 *
 * <p>When PostgreSQL fails, the batch is kept and retried with capped exponential backoff while the
 * assigned partitions are paused, so the consumer stays in its group (it keeps polling) without
 * fetching more. Partitions assigned by a rebalance are paused until their stored offsets could be read
 * and sought to. Runs on one thread; the Kafka consumer is used from that thread only.
 */
public final class SinkLoop implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);
    /** Stored offset unknown to PostgreSQL: no row for the partition yet. */
    private static final Long NO_ROW = null;

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final RollupDecoder decoder;
    private final RollupStore store;
    private final SinkMetrics metrics;
    private final Duration pollTimeout;
    private final Duration databaseCheckInterval;
    private final Backoff backoff;

    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile boolean running;
    private volatile String databaseProblem = "PostgreSQL not contacted yet";
    private boolean outageLogged;
    private boolean supersededLogged;
    private volatile Throwable failure;

    /** What PostgreSQL holds for each owned partition whose offsets were read (null value: no row). */
    private final Map<TopicPartition, Long> storedOffsets = new HashMap<>();
    /** Owned partitions whose offsets must be read from PostgreSQL before consuming them; paused. */
    private final Set<TopicPartition> needsSeek = new HashSet<>();
    /** A batch polled but not yet stored (PostgreSQL failed); all partitions are paused meanwhile. */
    private Batch pending;
    private boolean pausedForOutage;
    private Instant lastDatabaseContact = Instant.EPOCH;

    public SinkLoop(Consumer<byte[], byte[]> consumer, String topic, RollupDecoder decoder, RollupStore store, SinkMetrics metrics,
                    Duration pollTimeout, Duration initialBackoff, Duration maxBackoff, Duration databaseCheckInterval) {
        this.consumer = consumer;
        this.topic = topic;
        this.decoder = decoder;
        this.store = store;
        this.metrics = metrics;
        this.pollTimeout = pollTimeout;
        this.databaseCheckInterval = databaseCheckInterval;
        this.backoff = new Backoff(initialBackoff, maxBackoff);
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(topic), new Rebalance());
            running = true;
            while (!stopping) {
                step();
            }
        } catch (WakeupException e) {
            if (!stopping) {
                fail(e);
            }
        } catch (Throwable e) {
            fail(e);
        } finally {
            running = false;
            try {
                consumer.close(Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                LOG.warn("Error closing the consumer: {}", e.getMessage());
            }
            finished.countDown();
        }
    }

    private void fail(Throwable e) {
        failure = e;
        LOG.error("Sink stopped after an unexpected error; PostgreSQL keeps the position, a restart resumes from it", e);
    }

    private void step() {
        if (!needsSeek.isEmpty() && !seekToStoredOffsets()) {
            waitBeforeRetry();
            return;
        }
        if (pending == null) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
            reportLag();
            if (records.isEmpty()) {
                checkDatabaseWhenIdle();
                return;
            }
            Map<TopicPartition, Long> positions = new HashMap<>();
            for (TopicPartition partition : records.partitions()) {
                positions.put(partition, consumer.position(partition));
            }
            pending = decoder.decode(records).resumingAt(positions);
        }
        if (writePending()) {
            backoff.reset();
        } else {
            waitBeforeRetry();
        }
    }

    /** Stores the pending batch; false when PostgreSQL failed and the batch must be retried. */
    private boolean writePending() {
        if (pending.isEmpty()) {
            pending = null;
            return true;
        }
        long started = System.nanoTime();
        try {
            Map<TopicPartition, Long> expected = new HashMap<>();
            pending.nextOffsets().keySet().forEach(partition -> expected.put(partition, storedOffsets.get(partition)));
            RollupStore.WriteResult result = store.write(pending, expected);
            metrics.batchLatency.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            storedOffsets.putAll(pending.nextOffsets());
            metrics.recordsConsumed.increment(pending.records());
            metrics.rowsUpserted.increment(result.rowsUpserted());
            metrics.staleIgnored.increment(result.staleIgnored());
            List<RejectedRecord> rejected = new ArrayList<>(pending.rejected());
            rejected.addAll(result.refused());
            rejected.forEach(record -> {
                metrics.rejected(record.reason()).increment();
                LOG.warn("Rejected {}-{}@{}: {} ({}); kept in sink_rejected_records", record.topic(), record.partition(),
                        record.recordOffset(), record.reason(), record.detail());
            });
            if (pending.superseded() > 0) {
                metrics.superseded.increment(pending.superseded());
                if (!supersededLogged) {
                    LOG.info("Skipping DAY rollups (an aggregator of an earlier version is producing them): days are composed from the "
                            + "hours in PostgreSQL now. Counted in sink_records_superseded_total; logged once.");
                    supersededLogged = true;
                }
            }
            pending = null;
            databaseReachable();
            return true;
        } catch (OffsetConflictException e) {
            LOG.warn(e.getMessage());
            metrics.offsetConflicts.increment();
            pending = null;
            databaseReachable();
            Set<TopicPartition> owned = consumer.assignment();
            storedOffsets.clear();
            needsSeek.addAll(owned);
            consumer.pause(owned);
            return true;
        } catch (JdbiException | DatabaseFailure e) {
            databaseUnreachable("writing a batch of " + pending.records() + " records", e);
            return false;
        }
    }

    /** Reads the stored offsets of the partitions that need it and seeks to them; false when PostgreSQL failed. */
    private boolean seekToStoredOffsets() {
        Map<Integer, Long> stored;
        try {
            stored = store.storedOffsets(topic);
        } catch (JdbiException | DatabaseFailure e) {
            databaseUnreachable("reading the stored offsets", e);
            return false;
        }
        for (TopicPartition partition : needsSeek) {
            Long next = stored.get(partition.partition());
            if (next == null) {
                consumer.seekToBeginning(List.of(partition));
                storedOffsets.put(partition, NO_ROW);
                LOG.info("{}: no stored offset, starting from the beginning", partition);
            } else {
                consumer.seek(partition, next);
                storedOffsets.put(partition, next);
                LOG.info("{}: resuming at stored offset {}", partition, next);
            }
        }
        Set<TopicPartition> sought = new HashSet<>(needsSeek);
        needsSeek.clear();
        databaseReachable();
        if (pending == null) {
            consumer.resume(sought);
        }
        return true;
    }

    private void resumeOwnedPartitions() {
        Set<TopicPartition> resumable = new HashSet<>(consumer.assignment());
        resumable.removeAll(needsSeek);
        consumer.resume(resumable);
        pausedForOutage = false;
    }

    private void databaseUnreachable(String doing, RuntimeException e) {
        metrics.databaseErrors.increment();
        metrics.databaseAvailable(false);
        String problem = "PostgreSQL failed while " + doing + ": " + rootMessage(e);
        if (!outageLogged) {
            LOG.warn("{}; retrying with backoff (position kept, nothing lost)", problem);
            outageLogged = true;
        } else {
            LOG.debug(problem);
        }
        databaseProblem = problem;
        if (!pausedForOutage) {
            consumer.pause(consumer.assignment());
            pausedForOutage = true;
        }
    }

    private void databaseReachable() {
        if (outageLogged) {
            LOG.info("PostgreSQL reachable again; resuming");
            outageLogged = false;
        }
        databaseProblem = null;
        if (pausedForOutage && pending == null) {
            resumeOwnedPartitions();
        }
        metrics.databaseAvailable(true);
        lastDatabaseContact = Instant.now();
    }

    /** Without records to write, a failed database would go unnoticed; ask it now and then so readiness tells. */
    private void checkDatabaseWhenIdle() {
        if (Duration.between(lastDatabaseContact, Instant.now()).compareTo(databaseCheckInterval) < 0) {
            return;
        }
        try {
            store.ping();
            databaseReachable();
        } catch (JdbiException | DatabaseFailure e) {
            lastDatabaseContact = Instant.now(); // next check after the interval, not on every poll
            databaseUnreachable("checking the connection", e);
        }
    }

    /** Waits the backoff, then polls (all partitions paused) so the consumer keeps its group membership. */
    private void waitBeforeRetry() {
        try {
            stopRequested.await(backoff.next().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
            return;
        }
        if (stopping) {
            return;
        }
        ConsumerRecords<byte[], byte[]> unexpected = consumer.poll(Duration.ZERO);
        // Every owned partition is paused here, so nothing comes back; if something does, rewind so it is read again later.
        for (TopicPartition partition : unexpected.partitions()) {
            consumer.seek(partition, unexpected.records(partition).get(0).offset());
        }
        reportLag();
    }

    private void reportLag() {
        long lag = 0;
        for (TopicPartition partition : consumer.assignment()) {
            lag += consumer.currentLag(partition).orElse(0);
        }
        metrics.consumerLag(lag);
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }

    /** Asks the loop to stop after the batch it is writing; a batch waiting for PostgreSQL is abandoned (it is re-read on restart). */
    public void stop() {
        stopping = true;
        stopRequested.countDown();
        consumer.wakeup();
    }

    public boolean awaitFinished(Duration timeout) throws InterruptedException {
        return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Null when the sink is working, otherwise why not (for /health/ready). */
    public String notReadyReason() {
        if (failure != null) {
            return "stopped after an error: " + failure;
        }
        if (stopping) {
            return "stopping";
        }
        if (!running) {
            return "starting";
        }
        return databaseProblem;
    }

    public Throwable failure() {
        return failure;
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            forget(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            // The position lives in PostgreSQL; read it in the loop (with retries), not here.
            consumer.pause(partitions);
            needsSeek.addAll(partitions);
            LOG.info("Assigned {}", partitions);
        }

        private void forget(Collection<TopicPartition> partitions) {
            storedOffsets.keySet().removeAll(partitions);
            needsSeek.removeAll(partitions);
            if (pending != null) {
                // Whoever owns them next reads their position from PostgreSQL; this batch's records of them are dropped unwritten.
                pending = pending.without(partitions);
            }
        }
    }
}
