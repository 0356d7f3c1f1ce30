package dev.metering.bench.baseline;

import dev.metering.bench.Progress;
import dev.metering.bench.load.Workload;
import dev.metering.bench.pipeline.CpuUse;
import dev.metering.bench.report.Timeline;
import java.math.BigDecimal;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/**
 * What a team would write instead of a pipeline: each event is one autocommitted
 * {@code INSERT … ON CONFLICT DO UPDATE}, from {@code concurrency} connections.
 */
public final class NaiveBaseline {
    /** How fast the baseline took the events, and the total it ended with (to check it against the pipeline's). */
    public record Result(long events, int connections, double seconds, double eventsPerSecond, BigDecimal total) {
    }

    private final Jdbi jdbi;
    private final Timeline timeline;
    private final Progress progress;

    public NaiveBaseline(String jdbcUrl, String user, String password, Timeline timeline, Progress progress) {
        this.jdbi = Jdbi.create(jdbcUrl, user, password).installPlugin(new SqlObjectPlugin());
        this.timeline = timeline;
        this.progress = progress;
    }

    public Result run(String phase, Workload workload, long events, int connections) throws InterruptedException {
        jdbi.useExtension(NaiveUsageTable.class, table -> {
            table.drop();
            table.create();
        });
        AtomicLong next = new AtomicLong();
        AtomicLong done = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch finished = new CountDownLatch(connections);
        long start = System.nanoTime();
        for (int c = 0; c < connections; c++) {
            Thread worker = new Thread(() -> {
                try (Handle handle = jdbi.open()) {
                    NaiveUsageTable table = handle.attach(NaiveUsageTable.class);
                    for (long n = next.getAndIncrement(); n < events && failure.get() == null; n = next.getAndIncrement()) {
                        Workload.Event event = workload.event(n);
                        table.add(event.account(), event.feature(), event.eventTime().atOffset(ZoneOffset.UTC), event.quantity());
                        done.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    CpuUse.countThisThreadAsItEnds();
                    finished.countDown();
                }
            }, CpuUse.NAIVE_THREAD_PREFIX + c);
            worker.setDaemon(true);
            worker.start();
        }
        long lastDone = 0;
        long lastNanos = start;
        while (!finished.await(1, TimeUnit.SECONDS)) {
            long now = System.nanoTime();
            long doneNow = done.get();
            double rate = (doneNow - lastDone) / ((now - lastNanos) / 1e9);
            timeline.add(phase, rate, null, null);
            progress.line("%s: %,.0f events/s  (%,d of %,d)", phase, rate, doneNow, events);
            lastDone = doneNow;
            lastNanos = now;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failure.get() != null) {
            throw new IllegalStateException(phase + " failed: " + failure.get().getMessage(), failure.get());
        }
        BigDecimal total = jdbi.withExtension(NaiveUsageTable.class, NaiveUsageTable::total);
        jdbi.useExtension(NaiveUsageTable.class, NaiveUsageTable::drop);
        return new Result(events, connections, seconds, events / seconds, total);
    }
}
