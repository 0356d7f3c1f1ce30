package dev.metering.sink.consume;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.DatabaseFailure;
import dev.metering.sink.store.SinkDatabase;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
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
 * repeat. PostgreSQL holds the position ({@link PartitionPositions}); nothing is committed to Kafka.
 *
 * <p>When PostgreSQL fails, the batch is kept and retried with capped exponential backoff while the
 * assigned partitions are paused ({@link DatabaseAvailability}), so the consumer stays in its group (it keeps
 * polling) without fetching more. Writing is {@link BatchWriter}'s. Runs on one thread; the Kafka consumer is
 * used from that thread only.
 */
public final class SinkLoop implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SinkLoop.class);

    private final Consumer<byte[], byte[]> consumer;
    private final String topic;
    private final RollupDecoder decoder;
    private final SinkDatabase database;
    private final SinkMetrics metrics;
    private final Duration pollTimeout;
    private final Backoff backoff;
    private final PartitionPositions positions;
    private final DatabaseAvailability availability;
    private final BatchWriter writer;

    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile boolean running;
    private volatile Throwable failure;
    /** The last poll found nothing left to read, and every batch before it is stored. */
    private volatile boolean caughtUp;

    /** A batch polled but not yet stored (PostgreSQL failed); all partitions are paused meanwhile. */
    private Batch pending;

    public SinkLoop(Consumer<byte[], byte[]> consumer, String topic, RollupDecoder decoder, SinkDatabase database, SinkMetrics metrics,
                    Duration pollTimeout, Duration initialBackoff, Duration maxBackoff, Duration databaseCheckInterval) {
        this(consumer, topic, decoder, database, metrics, pollTimeout, initialBackoff, maxBackoff, databaseCheckInterval, Clock.systemUTC());
    }

    SinkLoop(Consumer<byte[], byte[]> consumer, String topic, RollupDecoder decoder, SinkDatabase database, SinkMetrics metrics,
             Duration pollTimeout, Duration initialBackoff, Duration maxBackoff, Duration databaseCheckInterval, Clock clock) {
        this.consumer = consumer;
        this.topic = topic;
        this.decoder = decoder;
        this.database = database;
        this.metrics = metrics;
        this.pollTimeout = pollTimeout;
        this.backoff = new Backoff(initialBackoff, maxBackoff);
        this.positions = new PartitionPositions(consumer);
        this.availability = new DatabaseAvailability(consumer, positions, metrics, databaseCheckInterval, clock);
        this.writer = new BatchWriter(database, metrics);
    }

    @Override
    public void run() {
        try {
            subscribe();
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

    void subscribe() {
        consumer.subscribe(List.of(topic), new Rebalance());
        running = true;
    }

    private void fail(Throwable e) {
        failure = e;
        LOG.error("Sink stopped after an unexpected error; PostgreSQL keeps the position, a restart resumes from it", e);
    }

    /** One turn of the loop: seek where needed, poll when no batch waits, write the batch (or wait the backoff). */
    void step() {
        if (positions.seekNeeded() && !seekToStoredOffsets()) {
            waitBeforeRetry();
            return;
        }
        if (pending == null) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout);
            long lag = reportLag();
            caughtUp = records.isEmpty() && lag == 0;
            if (records.isEmpty()) {
                checkDatabaseWhenIdle();
                return;
            }
            Map<TopicPartition, Long> resumeAt = new HashMap<>();
            for (TopicPartition partition : records.partitions()) {
                resumeAt.put(partition, consumer.position(partition));
            }
            pending = decoder.decode(records).resumingAt(resumeAt);
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
        try {
            BatchWriter.Outcome outcome = writer.write(pending, positions.expectedFor(pending));
            if (outcome == BatchWriter.Outcome.WRITTEN) {
                positions.written(pending);
            }
            pending = null;
            availability.reachable(false);
            if (outcome == BatchWriter.Outcome.OFFSETS_MOVED) {
                positions.readAllAgain();
            }
            return true;
        } catch (JdbiException | DatabaseFailure e) {
            availability.unreachable("writing a batch of " + pending.records() + " records", e);
            return false;
        }
    }

    /** Reads the stored offsets of the partitions that need it and seeks to them; false when PostgreSQL failed. */
    private boolean seekToStoredOffsets() {
        Map<Integer, Long> stored;
        try {
            stored = database.storedOffsets(topic);
        } catch (JdbiException | DatabaseFailure e) {
            availability.unreachable("reading the stored offsets", e);
            return false;
        }
        Set<TopicPartition> sought = positions.seekTo(stored);
        availability.reachable(pending != null);
        if (pending == null) {
            consumer.resume(sought);
        }
        return true;
    }

    /** Without records to write, a failed database would go unnoticed; ask it now and then so readiness tells. */
    private void checkDatabaseWhenIdle() {
        if (!availability.checkDue()) {
            return;
        }
        try {
            database.ping();
            availability.reachable(pending != null);
        } catch (JdbiException | DatabaseFailure e) {
            availability.checkFailed(e);
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

    private long reportLag() {
        long lag = 0;
        for (TopicPartition partition : consumer.assignment()) {
            lag += consumer.currentLag(partition).orElse(0);
        }
        metrics.consumerLag(lag);
        return lag;
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
        return availability.problem();
    }

    public Throwable failure() {
        return failure;
    }

    /**
     * Whether the sink has stored everything committed to its partitions so far: its last poll found nothing left to
     * read (no lag) and nothing waits to be written. For tools that wait for the pipeline to drain (the benchmark).
     */
    public boolean caughtUp() {
        return caughtUp && running;
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
            positions.assigned(partitions);
            LOG.info("Assigned {}", partitions);
        }

        private void forget(Collection<TopicPartition> partitions) {
            positions.forget(partitions);
            if (pending != null) {
                // Whoever owns them next reads their position from PostgreSQL; this batch's records of them are dropped unwritten.
                pending = pending.without(partitions);
            }
        }
    }
}
