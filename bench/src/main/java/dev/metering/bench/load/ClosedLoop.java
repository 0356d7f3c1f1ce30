package dev.metering.bench.load;

import dev.metering.bench.Progress;
import dev.metering.bench.pipeline.CpuUse;
import dev.metering.bench.report.Timeline;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A closed-loop load generator: {@code concurrency} workers each send a request, wait for the answer and
 * send the next, so the offered load is whatever the service sustains. Latency is measured per request
 * from just before sending to the full answer. A request answered 5xx or not at all is sent again (as a
 * careful client would, with the same event ids) and counted as an error; a 4xx stops the run, since it
 * means the benchmark itself is wrong.
 */
public final class ClosedLoop {
    /** How a run ends: after {@code duration}, or once {@code maxRequests} requests have been answered. */
    public record Plan(String phase, int concurrency, int eventsPerRequest, Duration warmup, Duration duration, long maxRequests) {
    }

    /** What a run measured (after its warm-up). */
    public record Result(String phase, int concurrency, int eventsPerRequest, long requests, long events, long retriedErrors,
                         double seconds, double eventsPerSecond, double requestsPerSecond,
                         double p50Millis, double p99Millis, double p999Millis, double maxMillis) {
    }

    private static final int MAX_ATTEMPTS = 10;
    private static final long HIGHEST_TRACKABLE_MICROS = TimeUnit.MINUTES.toMicros(2);

    private final HttpClient client;
    private final Timeline timeline;
    private final Progress progress;

    public ClosedLoop(HttpClient client, Timeline timeline, Progress progress) {
        this.client = client;
        this.timeline = timeline;
        this.progress = progress;
    }

    /** Runs the plan; {@code requestAt} gives the request with the given index (each index is sent once). */
    public Result run(Plan plan, LongFunction<HttpRequest> requestAt) throws InterruptedException {
        Recorder recorder = new Recorder(HIGHEST_TRACKABLE_MICROS, 3);
        Histogram total = new Histogram(HIGHEST_TRACKABLE_MICROS, 3);
        AtomicLong nextIndex = new AtomicLong();
        LongAdder errors = new LongAdder();
        AtomicReference<Throwable> fatal = new AtomicReference<>();
        long startNanos = System.nanoTime();
        long measureFromNanos = startNanos + plan.warmup().toNanos();
        long endNanos = measureFromNanos + plan.duration().toNanos();

        AtomicLong lastAnsweredNanos = new AtomicLong(measureFromNanos);
        CountDownLatch finished = new CountDownLatch(plan.concurrency());
        for (int w = 0; w < plan.concurrency(); w++) {
            Thread worker = new Thread(() -> {
                try {
                    while (fatal.get() == null && System.nanoTime() < endNanos) {
                        long index = nextIndex.getAndIncrement();
                        if (index >= plan.maxRequests()) {
                            return;
                        }
                        HttpRequest request = requestAt.apply(index);
                        long sent = System.nanoTime();
                        send(request, errors);
                        long answered = System.nanoTime();
                        if (sent >= measureFromNanos && answered <= endNanos) {
                            recorder.recordValue(Math.min(HIGHEST_TRACKABLE_MICROS, (answered - sent) / 1000));
                            lastAnsweredNanos.accumulateAndGet(answered, Math::max);
                        }
                    }
                } catch (Throwable e) {
                    fatal.compareAndSet(null, e);
                } finally {
                    CpuUse.countThisThreadAsItEnds();
                    finished.countDown();
                }
            }, CpuUse.LOAD_THREAD_PREFIX + plan.phase() + "-" + w);
            worker.setDaemon(true);
            worker.start();
        }

        Histogram interval = null;
        long lastSampleNanos = System.nanoTime();
        boolean done = false;
        while (!done) {
            done = finished.await(1, TimeUnit.SECONDS);
            long now = System.nanoTime();
            interval = recorder.getIntervalHistogram(interval);
            double seconds = (now - lastSampleNanos) / 1e9;
            lastSampleNanos = now;
            if (interval.getTotalCount() == 0) {
                if (now < measureFromNanos) {
                    progress.line("%s: warming up", plan.phase());
                }
                continue;
            }
            total.add(interval);
            double eventsPerSecond = interval.getTotalCount() * plan.eventsPerRequest() / seconds;
            double p50 = interval.getValueAtPercentile(50) / 1000.0;
            double p99 = interval.getValueAtPercentile(99) / 1000.0;
            timeline.add(plan.phase(), eventsPerSecond, p50, p99);
            progress.line("%s: %,.0f events/s  p50 %.1f ms  p99 %.1f ms  (%,d requests, %d retried)",
                    plan.phase(), eventsPerSecond, p50, p99, total.getTotalCount(), errors.sum());
        }
        if (fatal.get() != null) {
            throw new IllegalStateException(plan.phase() + " stopped: " + fatal.get().getMessage(), fatal.get());
        }
        long answered = total.getTotalCount();
        if (answered == 0) {
            throw new IllegalStateException(plan.phase() + ": no request was answered in the measured time");
        }
        double measuredSeconds = (lastAnsweredNanos.get() - measureFromNanos) / 1e9;
        if (plan.maxRequests() == Long.MAX_VALUE) {
            measuredSeconds = plan.duration().toNanos() / 1e9;
        }
        long events = answered * plan.eventsPerRequest();
        return new Result(plan.phase(), plan.concurrency(), plan.eventsPerRequest(), answered, events, errors.sum(),
                measuredSeconds, events / measuredSeconds, answered / measuredSeconds,
                total.getValueAtPercentile(50) / 1000.0, total.getValueAtPercentile(99) / 1000.0,
                total.getValueAtPercentile(99.9) / 1000.0, total.getMaxValue() / 1000.0);
    }

    private void send(HttpRequest request, LongAdder errors) throws InterruptedException {
        String lastProblem = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    return;
                }
                String body = response.body().length() > 300 ? response.body().substring(0, 300) + "…" : response.body();
                if (status < 500 && status != 429) {
                    throw new IllegalStateException(request.method() + " " + request.uri().getPath() + " answered " + status + ": " + body);
                }
                lastProblem = status + ": " + body;
            } catch (IOException e) {
                lastProblem = e.toString();
            }
            errors.increment();
            Thread.sleep(100L * attempt);
        }
        throw new IllegalStateException(request.uri().getPath() + " failed " + MAX_ATTEMPTS + " times, last: " + lastProblem);
    }
}

