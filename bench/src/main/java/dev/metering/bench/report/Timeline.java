package dev.metering.bench.report;

import java.util.ArrayList;
import java.util.List;

/** Per-second samples of every phase, for the plot; the clock starts when the benchmark starts. */
public final class Timeline {
    /**
     * @param seconds        since the benchmark started
     * @param eventsPerSecond events done in the second before (accepted, drained or written, by phase)
     * @param p50Millis      median latency in that second, or null where the phase measures none
     * @param p99Millis      99th percentile latency in that second, or null
     */
    public record Sample(String phase, double seconds, double eventsPerSecond, Double p50Millis, Double p99Millis) {
    }

    private final long startNanos = System.nanoTime();
    private final List<Sample> samples = new ArrayList<>();

    public double secondsSinceStart() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    public synchronized void add(String phase, double eventsPerSecond, Double p50Millis, Double p99Millis) {
        samples.add(new Sample(phase, secondsSinceStart(), eventsPerSecond, p50Millis, p99Millis));
    }

    public synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }
}
