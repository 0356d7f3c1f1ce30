package dev.metering.bench.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class CpuUseTest {
    private static final long BUSY_NANOS = 50_000_000L;
    /** Where the busy loop's result goes, so the compiler cannot drop the loop. */
    private static volatile long spun;

    @Test
    void aThreadsCpuTimeGoesToTheComponentItsNameBelongsTo() throws Exception {
        CpuUse.Snapshot before = CpuUse.snapshot();
        CountDownLatch busyEnough = new CountDownLatch(1);
        CountDownLatch measured = new CountDownLatch(1);
        Thread streamThread = new Thread(() -> {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long spin = 0;
            while (threads.getCurrentThreadCpuTime() < BUSY_NANOS) {
                spin += System.nanoTime() % 7;
            }
            busyEnough.countDown();
            try {
                measured.await(); // alive until measured: a finished thread's CPU time can no longer be read
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            spun = spin;
        }, "metering-aggregator-test-StreamThread-1");
        streamThread.start();
        busyEnough.await();
        Map<String, Double> micros = CpuUse.snapshot().microsPerEventSince(before, 1);
        measured.countDown();
        streamThread.join();

        assertThat(micros.get(CpuUse.STREAM_THREADS)).isGreaterThanOrEqualTo(BUSY_NANOS / 1e3);
        assertThat(micros.get(CpuUse.SINK)).isLessThan(BUSY_NANOS / 1e3);
        assertThat(micros.values()).allSatisfy(value -> assertThat(value).isNotNegative());
        assertThat(micros).containsKeys(CpuUse.STREAM_PRODUCERS, CpuUse.JIT, CpuUse.GC, CpuUse.REST_OF_JVM, CpuUse.POSTGRES);
    }

    /** As a PostgreSQL connection's process ends and its server reaps it: its CPU time stays in the server's. */
    @Test
    void aChildProcessThatEndedStillCountsForItsParent() throws Exception {
        Process parent = new ProcessBuilder("sh", "-c", "(i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done); echo ended; sleep 30")
                .redirectErrorStream(true).start();
        try {
            try (var output = new java.io.BufferedReader(new java.io.InputStreamReader(parent.getInputStream()))) {
                assertThat(output.readLine()).isEqualTo("ended");
                long parentAlone = parent.toHandle().info().totalCpuDuration().orElseThrow().toNanos();
                long withEnded = CpuUse.cpuNanosWithEndedChildren(parent.toHandle());
                assertThat(withEnded - parentAlone).as("the ended child's CPU time").isGreaterThanOrEqualTo(100_000_000L);
            }
        } finally {
            parent.destroyForcibly();
        }
    }

    @Test
    void aWorkerThatEndedBeforeTheSnapshotStillCountsForItsComponent() throws Exception {
        CpuUse.Snapshot before = CpuUse.snapshot();
        Thread worker = new Thread(() -> {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long spin = 0;
            while (threads.getCurrentThreadCpuTime() < BUSY_NANOS) {
                spin += System.nanoTime() % 7;
            }
            spun = spin;
            CpuUse.countThisThreadAsItEnds();
        }, CpuUse.LOAD_THREAD_PREFIX + "test-1");
        worker.start();
        worker.join();
        Map<String, Double> micros = CpuUse.snapshot().microsPerEventSince(before, 1);

        assertThat(micros.get(CpuUse.LOAD)).isGreaterThanOrEqualTo(BUSY_NANOS / 1e3);
        assertThat(micros.get(CpuUse.REST_OF_JVM)).as("not counted twice").isLessThan(BUSY_NANOS / 1e3);
    }
}
