package dev.metering.bench.pipeline;

import dev.metering.bench.Progress;
import dev.metering.bench.load.ApiRequests;
import dev.metering.bench.load.Workload;
import dev.metering.bench.report.Timeline;
import dev.metering.schemas.rules.Tenants;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jdbi.v3.core.Handle;

/**
 * Freshness: how long after the API answered 2xx an event is visible in {@code usage_hourly}. Batches are
 * sent at a steady rate (open loop: the schedule does not wait for answers); the first event of each batch
 * is a probe, the only event of its own account, so its row appearing in the view means the event is
 * there. A poller looks for the acknowledged probes every {@value #POLL_MILLIS} ms, which bounds the
 * resolution.
 */
public final class Freshness {
    /** Measured freshness; {@code probesMissing} never showed up within the wait after the run. */
    public record Result(double targetEventsPerSecond, double achievedEventsPerSecond, int eventsPerRequest, long probes,
                         long probesMissing, long failedRequests, double p50Millis, double p99Millis, double maxMillis,
                         int pollMillis) {
    }

    static final int POLL_MILLIS = 25;
    private static final int MAX_PROBES_PER_QUERY = 2000;
    private static final long HIGHEST_TRACKABLE_MICROS = TimeUnit.MINUTES.toMicros(10);

    private final HttpClient client;
    private final ApiRequests requests;
    private final PipelineWatch watch;
    private final Timeline timeline;
    private final Progress progress;

    public Freshness(HttpClient client, ApiRequests requests, PipelineWatch watch, Timeline timeline, Progress progress) {
        this.client = client;
        this.requests = requests;
        this.watch = watch;
        this.timeline = timeline;
        this.progress = progress;
    }

    public Result run(String phase, Workload background, String probePrefix, double eventsPerSecond, int eventsPerRequest,
                      Duration duration) throws InterruptedException {
        Map<String, Long> acknowledged = new ConcurrentHashMap<>(); // probe account -> nanoTime of the 2xx
        LongAdder acceptedEvents = new LongAdder();
        LongAdder failedRequests = new LongAdder();
        AtomicLong inFlight = new AtomicLong();
        AtomicLong nextRequest = new AtomicLong();
        Recorder recorder = new Recorder(HIGHEST_TRACKABLE_MICROS, 3);
        Histogram total = new Histogram(HIGHEST_TRACKABLE_MICROS, 3);

        double requestsPerSecond = eventsPerSecond / eventsPerRequest;
        long periodNanos = Math.max(1, Math.round(1e9 / requestsPerSecond));
        ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, phase + "-sender");
            thread.setDaemon(true);
            return thread;
        });
        sender.scheduleAtFixedRate(() -> {
            long index = nextRequest.getAndIncrement();
            List<Workload.Event> events = new ArrayList<>(eventsPerRequest);
            String probeAccount = probePrefix + "-acct-" + index;
            events.add(new Workload.Event(probePrefix + "-e" + index, probeAccount, "feature-0", 1, Instant.now()));
            for (int i = 1; i < eventsPerRequest; i++) {
                events.add(background.event(index * (eventsPerRequest - 1) + i - 1));
            }
            inFlight.incrementAndGet();
            client.sendAsync(requests.request(ApiRequests.Api.BATCH, events), HttpResponse.BodyHandlers.discarding())
                    .whenComplete((response, error) -> {
                        if (error == null && response.statusCode() / 100 == 2) {
                            acknowledged.put(probeAccount, System.nanoTime());
                            acceptedEvents.add(eventsPerRequest);
                        } else {
                            failedRequests.increment();
                        }
                        inFlight.decrementAndGet();
                    });
        }, 0, periodNanos, TimeUnit.NANOSECONDS);

        long start = System.nanoTime();
        long sendUntil = start + duration.toNanos();
        long waitUntil = sendUntil + Duration.ofSeconds(60).toNanos();
        long lastSample = start;
        long lastAccepted = 0;
        Histogram interval = null;
        boolean sending = true;
        try (Handle handle = watch.jdbi().open()) {
            RollupQueries queries = handle.attach(RollupQueries.class);
            while (true) {
                long now = System.nanoTime();
                if (sending && now >= sendUntil) {
                    sender.shutdown();
                    sending = false;
                }
                if (!sending && inFlight.get() == 0 && acknowledged.isEmpty() && sender.isTerminated()) {
                    break;
                }
                if (now >= waitUntil) {
                    break;
                }
                poll(queries, acknowledged, recorder);
                if (now - lastSample >= 1_000_000_000L) {
                    interval = recorder.getIntervalHistogram(interval);
                    total.add(interval);
                    long accepted = acceptedEvents.sum();
                    double rate = (accepted - lastAccepted) / ((now - lastSample) / 1e9);
                    Double p50 = interval.getTotalCount() == 0 ? null : interval.getValueAtPercentile(50) / 1000.0;
                    Double p99 = interval.getTotalCount() == 0 ? null : interval.getValueAtPercentile(99) / 1000.0;
                    timeline.add(phase, rate, p50, p99);
                    progress.line("%s: %,.0f events/s accepted  freshness p50 %s ms  p99 %s ms  (%d probes pending)", phase, rate,
                            p50 == null ? "-" : String.format("%.0f", p50), p99 == null ? "-" : String.format("%.0f", p99), acknowledged.size());
                    lastAccepted = accepted;
                    lastSample = now;
                }
                Thread.sleep(POLL_MILLIS);
            }
        } finally {
            sender.shutdownNow();
        }
        total.add(recorder.getIntervalHistogram());
        if (total.getTotalCount() == 0) {
            throw new IllegalStateException(phase + ": no probe became visible in usage_hourly");
        }
        double sentSeconds = duration.toNanos() / 1e9;
        return new Result(eventsPerSecond, acceptedEvents.sum() / sentSeconds, eventsPerRequest, nextRequest.get(),
                acknowledged.size(), failedRequests.sum(), total.getValueAtPercentile(50) / 1000.0,
                total.getValueAtPercentile(99) / 1000.0, total.getMaxValue() / 1000.0, POLL_MILLIS);
    }

    private static void poll(RollupQueries queries, Map<String, Long> acknowledged, Recorder recorder) {
        if (acknowledged.isEmpty()) {
            return;
        }
        List<String> pending = acknowledged.keySet().stream().limit(MAX_PROBES_PER_QUERY).toList();
        List<String> visible = queries.accountsWithRows(Tenants.DEFAULT, pending);
        long seen = System.nanoTime();
        for (String account : visible) {
            Long acknowledgedAt = acknowledged.remove(account);
            if (acknowledgedAt != null) {
                recorder.recordValue(Math.min(HIGHEST_TRACKABLE_MICROS, (seen - acknowledgedAt) / 1000));
            }
        }
    }
}
