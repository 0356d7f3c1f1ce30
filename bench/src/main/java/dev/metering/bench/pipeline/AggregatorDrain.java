package dev.metering.bench.pipeline;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.bench.Progress;
import dev.metering.bench.load.Workload;
import dev.metering.bench.report.Timeline;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Aggregator throughput on a backlog: with the aggregator stopped, {@code usage-events} is filled with N
 * events straight from a producer (as services that write to Kafka directly would), then an aggregator is
 * started and timed until it has committed all of them, and PostgreSQL until it shows them all: with the sink running
 * ({@link #run}, the pipeline sharing the machine) or stopped until the aggregator is done ({@link #runAlone}).
 */
public final class AggregatorDrain {
    /**
     * @param seconds         from starting the aggregator to its last commit (start-up and group join included)
     * @param sinkSeconds     from starting the aggregator until {@code usage_hourly} held every drained event
     */
    public record Result(long events, double fillSeconds, double seconds, double eventsPerSecond, double sinkSeconds,
                         double endToEndEventsPerSecond, Map<String, Double> cpuMicrosPerEvent) {
    }

    private final BenchPipeline pipeline;
    private final PipelineWatch watch;
    private final Timeline timeline;
    private final Progress progress;

    public AggregatorDrain(BenchPipeline pipeline, PipelineWatch watch, Timeline timeline, Progress progress) {
        this.pipeline = pipeline;
        this.watch = watch;
        this.timeline = timeline;
        this.progress = progress;
    }

    /**
     * The aggregator and the sink on one machine: the rate into {@code usage-rollups} is what the aggregator gets while
     * the sink and PostgreSQL write the rows it sends.
     */
    public Result run(String phase, Workload workload, long events) throws InterruptedException {
        Backlog backlog = stopAndFill(phase, workload, 0, events, false);
        CpuUse.Snapshot cpuAtStart = CpuUse.snapshot();
        long start = System.nanoTime();
        long deadline = start + patience(events).toNanos();
        double seconds = drainAggregator(phase, backlog.events(), start, deadline);
        awaitRows(phase, workload, events, deadline);
        double sinkSeconds = (System.nanoTime() - start) / 1e9;
        // Until the sink is done: the CPU every component spent on the drain, start-up included.
        Map<String, Double> cpu = cpuPerEvent(phase, "all " + String.format(Locale.ROOT, "%,d", events) + " events in usage_hourly "
                + String.format(Locale.ROOT, "%.1f", sinkSeconds) + " s after the aggregator started", cpuAtStart, events);
        return new Result(backlog.events(), backlog.fillSeconds(), seconds, backlog.events() / seconds, sinkSeconds, events / sinkSeconds, cpu);
    }

    /**
     * The aggregator alone, then the sink alone, as each would run on a machine of its own (and as ConsumerPerformance
     * reads): events {@code [first, first + events)} of the workload are drained with the sink stopped; then the sink
     * is started and catches up. For the same accounts and hours as {@link #run}, so no rows are added, only updated.
     *
     * @param aggregatorSeconds from starting the aggregator to its last commit (start-up included)
     * @param sinkSeconds       from starting the sink until {@code usage_hourly} held every drained event (start-up included)
     */
    public record AloneResult(long events, double aggregatorSeconds, double aggregatorEventsPerSecond, Map<String, Double> aggregatorCpuMicrosPerEvent,
                              double sinkSeconds, double sinkEventsPerSecond, Map<String, Double> sinkCpuMicrosPerEvent) {
    }

    public AloneResult runAlone(String phase, Workload workload, long first, long events) throws InterruptedException {
        long backlog = stopAndFill(phase, workload, first, events, true).events();
        CpuUse.Snapshot cpuAtStart = CpuUse.snapshot();
        long start = System.nanoTime();
        long deadline = start + patience(events).toNanos();
        double aggregatorSeconds = drainAggregator(phase, backlog, start, deadline);
        Map<String, Double> aggregatorCpu = cpuPerEvent(phase, "the aggregator alone committed " + String.format(Locale.ROOT, "%,d", backlog)
                + " events in " + String.format(Locale.ROOT, "%.1f", aggregatorSeconds) + " s", cpuAtStart, backlog);
        CpuUse.Snapshot cpuAtSinkStart = CpuUse.snapshot();
        long sinkStart = System.nanoTime();
        pipeline.startSink();
        awaitRows(phase, workload, first + events, deadline + patience(events).toNanos());
        double sinkSeconds = (System.nanoTime() - sinkStart) / 1e9;
        Map<String, Double> sinkCpu = cpuPerEvent(phase, "the sink alone stored them in " + String.format(Locale.ROOT, "%.1f", sinkSeconds)
                + " s", cpuAtSinkStart, events);
        return new AloneResult(backlog, aggregatorSeconds, backlog / aggregatorSeconds, aggregatorCpu, sinkSeconds, events / sinkSeconds, sinkCpu);
    }

    private record Backlog(long events, double fillSeconds) {
    }

    /** How long a step may take before the benchmark gives up on it: 5 minutes plus 2 ms per event (at least 500 events/s). */
    private static Duration patience(long events) {
        return Duration.ofSeconds(300 + events / 500);
    }

    /**
     * Waits for the pipeline, stops the aggregator (and the sink) and fills usage-events with the events. The sink stops
     * before the fill: PostgreSQL counts the CPU of the sink's connections when they end, which must not be in the drain.
     */
    private Backlog stopAndFill(String phase, Workload workload, long first, long events, boolean stopSink) throws InterruptedException {
        watch.awaitCaughtUp(Duration.ofMinutes(10));
        pipeline.stopAggregator();
        if (stopSink) {
            pipeline.stopSink();
            progress.line("%s: sink stopped", phase);
        }
        long fillStart = System.nanoTime();
        fill(phase, workload, first, events);
        double fillSeconds = (System.nanoTime() - fillStart) / 1e9;
        long backlog = watch.aggregatorLag();
        progress.line("%s: %,d events waiting in %s (filled in %.1f s)", phase, backlog, Topics.USAGE_EVENTS, fillSeconds);
        return new Backlog(backlog, fillSeconds);
    }

    /** Starts the aggregator and waits until it has committed the whole backlog; the seconds from {@code start}. */
    private double drainAggregator(String phase, long backlog, long start, long deadline) throws InterruptedException {
        progress.line("%s: starting the aggregator", phase);
        pipeline.startAggregator();
        long lastCommitted = watch.committedOffsetSum();
        long lastNanos = start;
        while (true) {
            Thread.sleep(1000);
            long now = System.nanoTime();
            long committed = watch.committedOffsetSum();
            long lag = watch.aggregatorLag();
            double rate = (committed - lastCommitted) / ((now - lastNanos) / 1e9);
            timeline.add(phase, rate, null, null);
            progress.line("%s: %,.0f events/s  (%,d of %,d left)", phase, rate, lag, backlog);
            lastCommitted = committed;
            lastNanos = now;
            if (lag == 0) {
                return (now - start) / 1e9;
            }
            if (now > deadline) {
                throw new IllegalStateException(phase + ": the aggregator still had " + lag + " events to process");
            }
        }
    }

    /** Waits until usage_hourly holds the quantity of the workload's first {@code count} events. */
    private void awaitRows(String phase, Workload workload, long count, long deadline) throws InterruptedException {
        BigDecimal expected = BigDecimal.valueOf(workload.quantityOfFirst(count));
        watch.awaitHourlyQuantity(workload.accountPattern(), expected, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), phase);
    }

    private Map<String, Double> cpuPerEvent(String phase, String what, CpuUse.Snapshot since, long events) {
        Map<String, Double> cpu = CpuUse.snapshot().microsPerEventSince(since, events);
        progress.line("%s: %s; CPU per event: %s", phase, what, cpu.entrySet().stream()
                .map(entry -> String.format(Locale.ROOT, "%s %.1f µs", entry.getKey(), entry.getValue()))
                .collect(Collectors.joining(", ")));
        return cpu;
    }

    private void fill(String phase, Workload workload, long first, long events) throws InterruptedException {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.bootstrapServers());
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        AtomicReference<Exception> failure = new AtomicReference<>();
        Instant receivedAt = Instant.now();
        try (KafkaProducer<String, UsageEvent> producer = new KafkaProducer<>(config, new StringSerializer(),
                new AvroSerializer<>(SchemaRegistryClient.forUrl(pipeline.schemaRegistryUrl()), false))) {
            long reportEvery = Math.max(1, events / 10);
            for (long n = 0; n < events && failure.get() == null; n++) {
                UsageEvent event = toAvro(workload.event(first + n), receivedAt);
                producer.send(new ProducerRecord<>(Topics.USAGE_EVENTS, event.getBillingAccountId(), event), (metadata, error) -> {
                    if (error != null) {
                        failure.compareAndSet(null, error);
                    }
                });
                if ((n + 1) % reportEvery == 0) {
                    progress.line("%s: filling %s, %,d of %,d", phase, Topics.USAGE_EVENTS, n + 1, events);
                }
            }
            producer.flush();
        }
        if (failure.get() != null) {
            throw new IllegalStateException(phase + ": filling the topic failed: " + failure.get().getMessage(), failure.get());
        }
    }

    /** The event as the ingest API would have produced it. */
    public static UsageEvent toAvro(Workload.Event event, Instant receivedAt) {
        return UsageEvent.newBuilder()
                .setEventId(event.eventId())
                .setBillingAccountId(event.account())
                .setFeatureCode(event.feature())
                .setQuantity(BigDecimal.valueOf(event.quantity()).setScale(12))
                .setValueType(ValueType.DELTA)
                .setEventTime(event.eventTime())
                .setReceivedAt(receivedAt)
                .setOrigin("bench")
                .build();
    }
}
