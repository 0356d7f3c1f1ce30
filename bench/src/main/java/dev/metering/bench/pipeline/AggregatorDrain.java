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
 * started and timed until it has committed all of them, and PostgreSQL until it shows them all.
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

    public Result run(String phase, Workload workload, long events) throws InterruptedException {
        watch.awaitCaughtUp(Duration.ofMinutes(10));
        pipeline.stopAggregator();
        long fillStart = System.nanoTime();
        fill(phase, workload, events);
        double fillSeconds = (System.nanoTime() - fillStart) / 1e9;
        long backlog = watch.aggregatorLag();
        progress.line("%s: %,d events waiting in %s (filled in %.1f s); starting the aggregator", phase, backlog, Topics.USAGE_EVENTS, fillSeconds);

        CpuUse.Snapshot cpuAtStart = CpuUse.snapshot();
        long start = System.nanoTime();
        pipeline.startAggregator();
        long startCommitted = watch.committedOffsetSum();
        long lastCommitted = startCommitted;
        long lastNanos = start;
        long deadline = start + Duration.ofSeconds(300 + events / 500).toNanos();
        double seconds;
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
                seconds = (now - start) / 1e9;
                break;
            }
            if (now > deadline) {
                throw new IllegalStateException(phase + ": the aggregator still had " + lag + " events to process");
            }
        }
        BigDecimal expected = BigDecimal.valueOf(workload.quantityOfFirst(events));
        watch.awaitHourlyQuantity(workload.accountPattern(), expected, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())), phase);
        double sinkSeconds = (System.nanoTime() - start) / 1e9;
        // Until the sink is done: the CPU every component spent on the drain, start-up included.
        Map<String, Double> cpu = CpuUse.snapshot().microsPerEventSince(cpuAtStart, events);
        progress.line("%s: all %,d events in usage_hourly %.1f s after the aggregator started; CPU per event: %s", phase, events, sinkSeconds,
                cpu.entrySet().stream().map(entry -> String.format(Locale.ROOT, "%s %.1f µs", entry.getKey(), entry.getValue()))
                        .collect(Collectors.joining(", ")));
        return new Result(backlog, fillSeconds, seconds, backlog / seconds, sinkSeconds, events / sinkSeconds, cpu);
    }

    private void fill(String phase, Workload workload, long events) throws InterruptedException {
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
                UsageEvent event = toAvro(workload.event(n), receivedAt);
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
