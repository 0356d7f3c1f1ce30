package dev.metering.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.metering.avro.UsageEvent;
import dev.metering.bench.baseline.NaiveBaseline;
import dev.metering.bench.load.ApiRequests;
import dev.metering.bench.load.ApiRequests.Api;
import dev.metering.bench.load.ClosedLoop;
import dev.metering.bench.load.Workload;
import dev.metering.bench.pipeline.AggregatorDrain;
import dev.metering.bench.pipeline.AnalystQueries;
import dev.metering.bench.pipeline.BenchPipeline;
import dev.metering.bench.pipeline.CpuUse;
import dev.metering.bench.pipeline.Freshness;
import dev.metering.bench.pipeline.PipelineWatch;
import dev.metering.bench.pipeline.QueryApiTimings;
import dev.metering.bench.pipeline.RollupQueries;
import dev.metering.bench.reference.KafkaPerformanceTools;
import dev.metering.bench.report.Charts;
import dev.metering.bench.report.MarkdownReport;
import dev.metering.bench.report.Results;
import dev.metering.bench.report.Results.Figure;
import dev.metering.bench.report.Timeline;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroSerializer;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.EnumSet;
import java.util.function.ToDoubleFunction;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.utils.AppInfoParser;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark: starts the pipeline in this process and measures, in order, Kafka's own producer limits,
 * HTTP ingest per API, end-to-end throughput against a naive PostgreSQL upsert, freshness at a steady rate,
 * and the aggregator draining a backlog against Kafka's own consumer. Writes results.json, results.md,
 * comparison.png/.svg (every figure next to its reference) and timeline.png/.svg (per-second samples by phase).
 * Not a test: nothing here passes or fails on a number.
 */
@Command(name = "metering-bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measures the metering pipeline on this machine next to Kafka's ProducerPerformance/ConsumerPerformance and a naive PostgreSQL upsert.")
public final class Benchmark implements Callable<Integer> {
    static final String REFERENCE_TOPIC = "bench-reference";
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofMinutes(15);
    /** Each end-to-end shape first sends 1/this of its events, unmeasured, so that it is measured warm. */
    private static final int WARMUP_FRACTION = 5;

    @Option(names = "--quick", description = "Small sizes and short phases: finishes in under 3 minutes.")
    boolean quick;

    @Option(names = "--output", description = "Directory for results.json, results.md, comparison.png/.svg and timeline.png/.svg (default: bench-results/<time>).")
    Path output;

    @Option(names = "--pipeline-warmup-seconds", description = "Unmeasured seconds of requests to each API before the first phase, "
            + "so the services run compiled code when measured (default: 20, quick 3).")
    Integer pipelineWarmupSeconds;

    @Option(names = "--concurrency", description = "Closed-loop HTTP clients (default: 32, quick 4).")
    Integer concurrency;

    @Option(names = "--phase-seconds", description = "Measured seconds per HTTP ingest phase (default: 30, quick 2).")
    Integer phaseSeconds;

    @Option(names = "--warmup-seconds", description = "Unmeasured seconds before each HTTP ingest phase (default: 5, quick 1).")
    Integer warmupSeconds;

    @Option(names = "--events", description = "Events sent end to end and into the naive baseline (default: 500000, quick 15000).")
    Long endToEndEvents;

    @Option(names = "--drain-events", description = "Events pre-filled for the aggregator to drain (default: 5000000, quick 40000).")
    Long drainEvents;

    @Option(names = "--freshness-rate", description = "Events per second sent while measuring freshness, skewed traffic (default: 5000, quick 1000).")
    Integer freshnessRate;

    @Option(names = "--freshness-seconds", description = "Seconds of steady load while measuring freshness (default: 60, quick 8).")
    Integer freshnessSeconds;

    @Option(names = "--reference-records", description = "Records ProducerPerformance sends at full speed (default: 2000000, quick 150000).")
    Long referenceRecords;

    @Option(names = "--partitions", defaultValue = "3", description = "Partitions of the pipeline's topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--accounts", defaultValue = "10000", description = "Distinct billing accounts in the workload (default: ${DEFAULT-VALUE}).")
    int accounts;

    @Option(names = "--features", defaultValue = "10", description = "Distinct feature codes in the workload (default: ${DEFAULT-VALUE}).")
    int features;

    @Option(names = "--database-url", description = "Benchmark against this PostgreSQL server (JDBC URL; a fresh database is created and dropped) instead of an embedded one.")
    String databaseUrl;

    @Option(names = "--postgres-set", description = "A setting of the embedded PostgreSQL, e.g. --postgres-set shared_buffers=256MB (repeatable). "
            + "Defaults: shared_buffers=1GB (PostgreSQL's own 128MB holds neither the full preset's hours nor its month of bill lines) and "
            + "synchronous_commit=on (PostgreSQL's default, which the embedded server turns off: a commit of the naive path is then not "
            + "durable). A server given with --database-url keeps its own settings.")
    Map<String, String> postgresOverrides = new TreeMap<>();

    /** The embedded PostgreSQL's settings over its defaults: a production server's, as far as they matter here. */
    static final Map<String, String> POSTGRES_DEFAULTS = Map.of("shared_buffers", "1GB", "synchronous_commit", "on");

    private Map<String, String> postgresSettings() {
        Map<String, String> settings = new TreeMap<>(POSTGRES_DEFAULTS);
        settings.putAll(postgresOverrides);
        return settings;
    }

    @Option(names = "--phases", split = ",", defaultValue = "reference,ingest,e2e,freshness,drain,query",
            description = "Which parts to run, comma-separated (default: all): ${COMPLETION-CANDIDATES}. Figures whose reference was not run are reported without a ratio.")
    EnumSet<Phase> phases;

    @Option(names = "--set", description = "A service setting as its environment variable, e.g. --set AGGREGATOR_COMMIT_INTERVAL=PT1S (repeatable).")
    Map<String, String> serviceOverrides = new TreeMap<>();

    private final Timeline timeline = new Timeline();
    private final Progress progress = new Progress(System.out);

    public static void main(String[] args) {
        // With fewer than 3 cores the common pool has one thread, and CompletableFuture then starts a new thread for
        // every async completion. The JDK's HttpClient completes each sendAsync that way (the freshness load: 500
        // requests/s), which cost the load generator a third of a core on 2 cores. Set before anything uses the pool.
        if (System.getProperty("java.util.concurrent.ForkJoinPool.common.parallelism") == null) {
            System.setProperty("java.util.concurrent.ForkJoinPool.common.parallelism", "2");
        }
        // The services log at INFO (an access-log line per request); the benchmark's own progress is what matters here.
        if (System.getProperty("LOG_LEVEL") == null && System.getenv("LOG_LEVEL") == null) {
            System.setProperty("LOG_LEVEL", "WARN");
        }
        System.exit(new CommandLine(new Benchmark()).execute(args));
    }

    /** The sizes in effect: the options given, the rest from the full or quick preset. */
    record Settings(String mode, int pipelineWarmupSeconds, int concurrency, int phaseSeconds, int warmupSeconds, long endToEndEvents, long drainEvents,
                    int freshnessRate, int freshnessSeconds, int freshnessBatch, long referenceRecords, int partitions,
                    int accounts, int features, String postgres) {
    }

    Settings settings() {
        return new Settings(quick ? "quick" : "full", pick(pipelineWarmupSeconds, 20, 3),
                pick(concurrency, 32, 4), pick(phaseSeconds, 30, 2), pick(warmupSeconds, 5, 1),
                pick(endToEndEvents, 500_000L, 15_000L), pick(drainEvents, 5_000_000L, 40_000L),
                pick(freshnessRate, 5000, 1000), pick(freshnessSeconds, 60, 8), 10,
                pick(referenceRecords, 2_000_000L, 150_000L), partitions, accounts, features,
                databaseUrl == null ? "embedded, " + postgresSettings().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                        .collect(java.util.stream.Collectors.joining(", ")) : "the server given (its own settings)");
    }

    private <T> T pick(T given, T full, T small) {
        return given != null ? given : quick ? small : full;
    }

    @Override
    public Integer call() throws Exception {
        Settings settings = settings();
        Instant startedAt = Instant.now();
        Path outputDir = output != null ? output : Path.of("bench-results",
                DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(startedAt) + (quick ? "-quick" : ""));
        progress.phase("Starting the pipeline (embedded Kafka, " + (databaseUrl == null ? "embedded PostgreSQL" : "PostgreSQL at " + databaseUrl)
                + ", ingest API, aggregator, sink); " + settings);
        Run run;
        try (BenchPipeline pipeline = BenchPipeline.start(settings.partitions(), databaseUrl,
                postgresSettings(), serviceOverrides);
             PipelineWatch watch = new PipelineWatch(pipeline.bootstrapServers(), Topics.USAGE_EVENTS, pipeline.aggregatorApplicationId(), pipeline::sinkCaughtUp,
                     pipeline.postgres().jdbcUrl(), pipeline.postgres().username(), pipeline.postgres().password(), progress)) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .executor(Executors.newFixedThreadPool(4, namedThreads(CpuUse.LOAD_THREAD_PREFIX + "http-"))).connectTimeout(Duration.ofSeconds(5)).build();
            run = new Run(settings, pipeline, watch, http, pipeline.requests(), UUID.randomUUID().toString().substring(0, 8), Instant.now(),
                    watch.jdbi().withExtension(RollupQueries.class, RollupQueries::serverVersion));
            warmUp(run);
            if (phases.contains(Phase.reference)) {
                measureReference(run);
            }
            if (phases.contains(Phase.ingest)) {
                measureIngest(run);
            }
            if (phases.contains(Phase.e2e)) {
                for (Workload.Traffic traffic : Workload.Traffic.values()) {
                    measureEndToEnd(run, traffic);
                }
            }
            if (phases.contains(Phase.freshness)) {
                measureFreshness(run);
            }
            if (phases.contains(Phase.drain)) {
                measureDrain(run);
            }
            if (phases.contains(Phase.query)) {
                measureQueries(run);
            }
        }

        Results results = new Results(DateTimeFormatter.ISO_INSTANT.format(startedAt), settings.mode(), machine(),
                new Results.Versions(meteringVersion(), System.getProperty("java.vm.name") + " " + Runtime.version(),
                        AppInfoParser.getVersion(), run.postgresVersion()),
                settingsMap(settings), serviceOverrides, run.figures, run.phases, timeline.samples());
        write(outputDir, results);
        progress.phase("Done. Results in " + outputDir.toAbsolutePath());
        System.out.println();
        System.out.println(MarkdownReport.render(results));
        return 0;
    }

    /** The parts of a run, in the order they run; {@code --phases} picks some. */
    enum Phase { reference, ingest, e2e, freshness, drain, query }

    /** One run's pipeline and what it has measured so far. */
    private record Run(Settings settings, BenchPipeline pipeline, PipelineWatch watch, HttpClient http, ApiRequests requests,
                       String id, Instant workloadBase, String postgresVersion, Map<String, Object> phases, List<Figure> figures,
                       Map<String, Reference> references) {
        Run(Settings settings, BenchPipeline pipeline, PipelineWatch watch, HttpClient http, ApiRequests requests, String id,
            Instant workloadBase, String postgresVersion) {
            this(settings, pipeline, watch, http, requests, id, workloadBase, postgresVersion, new LinkedHashMap<>(), new ArrayList<>(),
                    new LinkedHashMap<>());
        }

        Workload workload(String name) {
            return workload(name, Workload.Traffic.UNIFORM);
        }

        Workload workload(String name, Workload.Traffic traffic) {
            return new Workload(id + "-" + name, settings.accounts(), settings.features(), workloadBase, traffic);
        }

        /** A figure next to the named reference, or alone when that reference was not measured in this run. */
        void figure(String group, String name, double value, String unit, String reference, ToDoubleFunction<Reference> referenceValue) {
            Reference measured = references.get(reference);
            figures.add(measured == null ? Figure.alone(group, name, value, unit)
                    : Figure.compared(group, name, value, unit, measured.title(), referenceValue.applyAsDouble(measured)));
        }
    }

    /** A reference measurement figures are compared with. */
    private record Reference(String title, double rate, double p50Millis, double p99Millis, double p999Millis) {
    }

    private static final String PRODUCER_MAX = "producer max";
    private static final String PRODUCER_STEADY = "producer steady";
    private static final String NAIVE = "naive";
    private static final String CONSUMER = "consumer";

    /**
     * Sends every API's requests for a while and lets the aggregator and sink take them, unmeasured: the JIT compiles
     * the hot paths of all three services before the first figure is taken, instead of during it.
     */
    private void warmUp(Run run) throws InterruptedException {
        Settings settings = run.settings();
        progress.phase("Warming up the pipeline: " + settings.pipelineWarmupSeconds() + " s of requests to each API, then until the "
                + "aggregator has caught up (not measured)");
        ClosedLoop loop = new ClosedLoop(run.http(), new Timeline(), progress);
        int concurrency = Math.min(4, settings.concurrency());
        for (Api api : Api.values()) {
            int perRequest = api == Api.BATCH ? 100 : 1;
            Workload workload = run.workload("warmup-" + api.name().toLowerCase(Locale.ROOT));
            loop.run(new ClosedLoop.Plan("warm-up " + api.title, concurrency, perRequest, Duration.ZERO,
                    Duration.ofSeconds(settings.pipelineWarmupSeconds()), Long.MAX_VALUE),
                    index -> run.requests().request(api, events(workload, index, perRequest)));
        }
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
    }

    /** The reference: what Kafka itself does on this broker with records of our size. */
    private void measureReference(Run run) throws Exception {
        Settings settings = run.settings();
        int recordSize = averageRecordSize(run.pipeline(), run.workload("size"));
        createReferenceTopic(run.pipeline().bootstrapServers(), settings.partitions());
        KafkaPerformanceTools tools = new KafkaPerformanceTools(progress);
        List<String> producerProperties = List.of("acks=all", "linger.ms=" + lingerMillis());
        progress.phase("Reference: Kafka ProducerPerformance, " + String.format(Locale.ROOT, "%,d", settings.referenceRecords())
                + " records of " + recordSize + " bytes, acks=all, as fast as it can");
        KafkaPerformanceTools.ProducerResult producerMax = tools.producer(run.pipeline().bootstrapServers(), REFERENCE_TOPIC,
                settings.referenceRecords(), recordSize, -1, producerProperties);
        timeline.add("reference producer", producerMax.recordsPerSecond(), null, null);
        progress.line("%,.0f records/s, latency p50 %.0f ms p99 %.0f ms", producerMax.recordsPerSecond(), producerMax.p50Millis(), producerMax.p99Millis());
        run.phases().put("referenceProducerMax", producerMax);
        run.references().put(PRODUCER_MAX, new Reference("ProducerPerformance, acks=all, " + recordSize + " B", producerMax.recordsPerSecond(),
                producerMax.p50Millis(), producerMax.p99Millis(), producerMax.p999Millis()));

        long steadyRecords = (long) settings.freshnessRate() * Math.max(5, settings.freshnessSeconds() / 4);
        progress.phase("Reference: Kafka ProducerPerformance at a steady " + settings.freshnessRate() + " records/s (latency of one acks=all send)");
        KafkaPerformanceTools.ProducerResult producerSteady = tools.producer(run.pipeline().bootstrapServers(), REFERENCE_TOPIC,
                steadyRecords, recordSize, settings.freshnessRate(), producerProperties);
        progress.line("latency p50 %.0f ms p99 %.0f ms p99.9 %.0f ms", producerSteady.p50Millis(), producerSteady.p99Millis(), producerSteady.p999Millis());
        run.phases().put("referenceProducerSteady", producerSteady);
        run.references().put(PRODUCER_STEADY, new Reference("ProducerPerformance at " + settings.freshnessRate() + "/s",
                producerSteady.recordsPerSecond(), producerSteady.p50Millis(), producerSteady.p99Millis(), producerSteady.p999Millis()));
    }

    /**
     * HTTP ingest, one API at a time, closed loop. The batches of 1000 run twice: with the aggregator and sink consuming
     * what is ingested (as the whole pipeline on one machine) and with the aggregator paused, as ProducerPerformance
     * runs (the ingest tier alone, as on a machine of its own); the aggregator catches up afterwards, unmeasured.
     */
    private void measureIngest(Run run) throws InterruptedException {
        Settings settings = run.settings();
        ClosedLoop loop = new ClosedLoop(run.http(), timeline, progress);
        record IngestCase(String phase, Api api, int eventsPerRequest, boolean aggregatorPaused) {
        }
        List<IngestCase> cases = List.of(new IngestCase("Frontier, 1 event/request", Api.FRONTIER, 1, false),
                new IngestCase("Kinde, 1 event/request", Api.KINDE, 1, false),
                new IngestCase("batch of 100", Api.BATCH, 100, false),
                new IngestCase("batch of 1000", Api.BATCH, 1000, false),
                new IngestCase("batch of 1000, aggregator paused", Api.BATCH, 1000, true));
        for (IngestCase ingest : cases) {
            run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
            String phase = "HTTP " + ingest.phase();
            progress.phase(phase + ", " + settings.concurrency() + " concurrent clients, " + settings.phaseSeconds() + " s after "
                    + settings.warmupSeconds() + " s warm-up");
            Workload workload = run.workload(ingest.api().name().toLowerCase(Locale.ROOT) + ingest.eventsPerRequest());
            if (ingest.aggregatorPaused()) {
                run.pipeline().stopAggregator();
            }
            ClosedLoop.Result result;
            try {
                result = loop.run(new ClosedLoop.Plan(phase, settings.concurrency(), ingest.eventsPerRequest(),
                        Duration.ofSeconds(settings.warmupSeconds()), Duration.ofSeconds(settings.phaseSeconds()), Long.MAX_VALUE),
                        index -> run.requests().request(ingest.api(), events(workload, index, ingest.eventsPerRequest())));
            } finally {
                if (ingest.aggregatorPaused()) {
                    run.pipeline().startAggregator();
                }
            }
            run.phases().put(phase, result);
            String group = "HTTP ingest (" + settings.concurrency() + " clients, closed loop)";
            run.figure(group, ingest.phase() + ": throughput", result.eventsPerSecond(), "events/s", PRODUCER_MAX, Reference::rate);
            run.figure(group, ingest.phase() + ": latency p50", result.p50Millis(), "ms", PRODUCER_STEADY, Reference::p50Millis);
            run.figure(group, ingest.phase() + ": latency p99", result.p99Millis(), "ms", PRODUCER_STEADY, Reference::p99Millis);
            run.figure(group, ingest.phase() + ": latency p99.9", result.p999Millis(), "ms", PRODUCER_STEADY, Reference::p999Millis);
        }
    }

    /**
     * End to end (HTTP batches to rows in usage_hourly) against the naive baseline, on the same events, for one
     * traffic shape.
     */
    private void measureEndToEnd(Run run, Workload.Traffic traffic) throws InterruptedException {
        Settings settings = run.settings();
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
        String shape = traffic.name().toLowerCase(Locale.ROOT);
        Workload endToEnd = run.workload("e2e-" + shape, traffic);
        int batch = 1000;
        long endToEndRequests = (settings.endToEndEvents() + batch - 1) / batch;
        long endToEndEventCount = endToEndRequests * batch;
        String endToEndPhase = "end to end, " + shape;
        // Warm: a fifth as many events first, unmeasured, down the same path. They are the workload's next events (same
        // accounts and hours), so the measured events start where the warm-up left the state, and no rows are added.
        long warmupRequests = Math.max(1, endToEndRequests / WARMUP_FRACTION);
        progress.phase("End to end, " + shape + " traffic, warm-up (not measured): " + String.format(Locale.ROOT, "%,d", warmupRequests * batch)
                + " events");
        new ClosedLoop(run.http(), new Timeline(), progress).run(new ClosedLoop.Plan(endToEndPhase + " warm-up", settings.concurrency(), batch,
                Duration.ZERO, CATCH_UP_TIMEOUT, warmupRequests), index -> run.requests().request(Api.BATCH, events(endToEnd, endToEndRequests + index, batch)));
        BigDecimal warmupQuantity = BigDecimal.valueOf(endToEnd.quantityOfFirst((endToEndRequests + warmupRequests) * batch)
                - endToEnd.quantityOfFirst(endToEndEventCount));
        run.watch().awaitHourlyQuantity(endToEnd.accountPattern(), warmupQuantity, CATCH_UP_TIMEOUT, endToEndPhase + " warm-up");
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);

        progress.phase("End to end, " + shape + " traffic: " + String.format(Locale.ROOT, "%,d", endToEndEventCount)
                + " events in batches of 1000 until all are in usage_hourly");
        CpuUse.Snapshot cpuAtStart = CpuUse.snapshot();
        long endToEndStart = System.nanoTime();
        ClosedLoop.Result sent = new ClosedLoop(run.http(), timeline, progress).run(new ClosedLoop.Plan(endToEndPhase, settings.concurrency(), batch,
                Duration.ZERO, CATCH_UP_TIMEOUT, endToEndRequests), index -> run.requests().request(Api.BATCH, events(endToEnd, index, batch)));
        BigDecimal expected = BigDecimal.valueOf(endToEnd.quantityOfFirst(endToEndEventCount));
        run.watch().awaitHourlyQuantity(endToEnd.accountPattern(), expected.add(warmupQuantity), CATCH_UP_TIMEOUT, endToEndPhase);
        double endToEndSeconds = (System.nanoTime() - endToEndStart) / 1e9;
        double endToEndRate = endToEndEventCount / endToEndSeconds;
        Map<String, Double> cpu = CpuUse.snapshot().microsPerEventSince(cpuAtStart, endToEndEventCount);
        progress.line("%s: %,.0f events/s (all %,d in usage_hourly after %.1f s; the API took them in %.1f s)",
                endToEndPhase, endToEndRate, endToEndEventCount, endToEndSeconds, sent.seconds());

        String naivePhase = "naive upsert per event, " + shape;
        progress.phase("Naive baseline: the same " + String.format(Locale.ROOT, "%,d", endToEndEventCount)
                + " events, one INSERT … ON CONFLICT DO UPDATE each, " + settings.concurrency() + " connections");
        BenchPipeline pipeline = run.pipeline();
        CpuUse.Snapshot cpuBeforeNaive = CpuUse.snapshot();
        NaiveBaseline.Result naive = new NaiveBaseline(pipeline.postgres().jdbcUrl(), pipeline.postgres().username(),
                pipeline.postgres().password(), timeline, progress).run(naivePhase, endToEnd, endToEndEventCount, settings.concurrency());
        progress.line("%s: %,.0f events/s; total %s (pipeline: %s)", naivePhase, naive.eventsPerSecond(), naive.total().stripTrailingZeros().toPlainString(),
                expected.toPlainString());
        if (naive.total().compareTo(expected) != 0) {
            throw new IllegalStateException("The naive baseline's total " + naive.total() + " differs from the events' " + expected);
        }
        Map<String, Double> naiveCpu = CpuUse.snapshot().microsPerEventSince(cpuBeforeNaive, endToEndEventCount);
        run.phases().put(endToEndPhase, Map.of("events", endToEndEventCount, "seconds", endToEndSeconds, "eventsPerSecond", endToEndRate,
                "apiSeconds", sent.seconds(), "retriedRequests", sent.retriedErrors(), "quantity", expected));
        run.phases().put(naivePhase, naive);
        run.references().put(NAIVE + " " + shape, new Reference("naive INSERT … ON CONFLICT per event, " + settings.concurrency()
                + " connections, same " + shape + " events", naive.eventsPerSecond(), Double.NaN, Double.NaN, Double.NaN));
        run.figure("End to end (HTTP → usage_hourly)", shape + " traffic, batch of 1000, until all rows are visible", endToEndRate, "events/s",
                NAIVE + " " + shape, Reference::rate);
        cpuFigures(run, "End to end, " + shape + " traffic: CPU per event (load generator included)", "ours", cpu, endToEndRate);
        cpuFigures(run, "End to end, " + shape + " traffic: CPU per event (load generator included)", "naive upsert", naiveCpu,
                naive.eventsPerSecond());
    }

    /** Daemon threads named {@code prefix} and a number. */
    private static ThreadFactory namedThreads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /**
     * One figure per component that used CPU (µs per event, with its share), and the total with the cores it kept busy
     * at {@code eventsPerSecond}; every figure's name starts with {@code label}.
     */
    private static void cpuFigures(Run run, String group, String label, Map<String, Double> cpu, double eventsPerSecond) {
        double total = cpu.values().stream().mapToDouble(Double::doubleValue).sum();
        cpu.forEach((component, micros) -> {
            if (micros >= 0.05) { // components idle in this phase (the load generator in the drain, say) are left out
                run.figure(group, String.format(Locale.ROOT, "%s: %s (%.0f %%)", label, component, 100 * micros / total), micros, "µs", "none",
                        reference -> Double.NaN);
            }
        });
        run.figure(group, String.format(Locale.ROOT, "%s: all of them (%.2f cores busy on average)", label, total * eventsPerSecond / 1e6), total,
                "µs", "none", reference -> Double.NaN);
    }

    /** Freshness at a steady rate. */
    private void measureFreshness(Run run) throws InterruptedException {
        Settings settings = run.settings();
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
        String freshnessPhase = "freshness";
        // The same load first, unmeasured: this request shape (open loop, batches of 10, a new account per request)
        // is not the warm-up's, and the JIT compiled for a third of the measured seconds without it.
        int warmUpSeconds = Math.max(1, settings.freshnessSeconds() / 3);
        progress.phase("Freshness warm-up: " + settings.freshnessRate() + " events/s in batches of " + settings.freshnessBatch() + " for "
                + warmUpSeconds + " s (not measured)");
        new Freshness(run.http(), run.requests(), run.watch(), new Timeline(), progress).run("freshness warm-up",
                run.workload("fresh-warmup", Workload.Traffic.SKEWED), run.id() + "-warmup-probe", settings.freshnessRate(),
                settings.freshnessBatch(), Duration.ofSeconds(warmUpSeconds));
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
        progress.phase("Freshness: " + settings.freshnessRate() + " events/s in batches of " + settings.freshnessBatch() + " for "
                + settings.freshnessSeconds() + " s; time from 2xx to the row in usage_hourly");
        Freshness.Result freshness = new Freshness(run.http(), run.requests(), run.watch(), timeline, progress).run(freshnessPhase,
                run.workload("fresh-load", Workload.Traffic.SKEWED), run.id() + "-probe", settings.freshnessRate(), settings.freshnessBatch(),
                Duration.ofSeconds(settings.freshnessSeconds()));
        run.phases().put(freshnessPhase, freshness);
        String freshnessGroup = "Freshness at " + settings.freshnessRate() + " events/s, skewed traffic (2xx → row in usage_hourly)";
        run.figure(freshnessGroup, "freshness p50", freshness.p50Millis(), "ms", PRODUCER_STEADY, Reference::p50Millis);
        run.figure(freshnessGroup, "freshness p99", freshness.p99Millis(), "ms", PRODUCER_STEADY, Reference::p99Millis);
    }

    /** The aggregator draining a backlog, against ConsumerPerformance reading the same topic. */
    private void measureDrain(Run run) throws Exception {
        Settings settings = run.settings();
        String drainPhase = "aggregator drain";
        progress.phase("Aggregator: drain " + String.format(Locale.ROOT, "%,d", settings.drainEvents()) + " pre-filled events");
        AggregatorDrain.Result drain = new AggregatorDrain(run.pipeline(), run.watch(), timeline, progress).run(drainPhase,
                run.workload("drain"), settings.drainEvents());
        run.phases().put(drainPhase, drain);
        progress.phase("Reference: Kafka ConsumerPerformance reading " + String.format(Locale.ROOT, "%,d", drain.events()) + " records of "
                + Topics.USAGE_EVENTS);
        KafkaPerformanceTools.ConsumerResult consumer = new KafkaPerformanceTools(progress).consumer(run.pipeline().bootstrapServers(),
                Topics.USAGE_EVENTS, drain.events(), "bench-consumer-performance-" + run.id());
        timeline.add("reference consumer", consumer.recordsPerSecond(), null, null);
        progress.line("%,.0f records/s (%,.0f without joining the group)", consumer.recordsPerSecond(), consumer.fetchRecordsPerSecond());
        run.phases().put("referenceConsumer", consumer);
        run.references().put(CONSUMER, new Reference("ConsumerPerformance, same topic", consumer.recordsPerSecond(), Double.NaN, Double.NaN, Double.NaN));
        String drainGroup = "Aggregator (" + String.format(Locale.ROOT, "%,d", drain.events()) + " events pre-filled)";
        run.figure(drainGroup, "drain into rollups (start-up included)", drain.eventsPerSecond(), "events/s", CONSUMER, Reference::rate);
        run.figure(drainGroup, "drain until all rows are in usage_hourly", drain.endToEndEventsPerSecond(), "events/s", CONSUMER, Reference::rate);
        cpuFigures(run, drainGroup, "CPU per event until the rows are in usage_hourly", drain.cpuMicrosPerEvent(), drain.endToEndEventsPerSecond());

        // The reference reads alone on the machine; so does the aggregator here, with the sink stopped until it is done.
        String alonePhase = "aggregator drain, sink stopped";
        progress.phase("Aggregator alone: drain the next " + String.format(Locale.ROOT, "%,d", settings.drainEvents())
                + " events of the same accounts with the sink stopped, then the sink alone");
        AggregatorDrain.AloneResult alone = new AggregatorDrain(run.pipeline(), run.watch(), timeline, progress).runAlone(alonePhase,
                run.workload("drain"), settings.drainEvents(), settings.drainEvents());
        run.phases().put(alonePhase, alone);
        String aloneGroup = "Aggregator alone, then the sink alone (" + String.format(Locale.ROOT, "%,d", alone.events())
                + " more events pre-filled, the same accounts and hours)";
        run.figure(aloneGroup, "drain into rollups, the sink stopped (start-up included)", alone.aggregatorEventsPerSecond(), "events/s",
                CONSUMER, Reference::rate);
        cpuFigures(run, aloneGroup, "CPU per event of the aggregator alone", alone.aggregatorCpuMicrosPerEvent(), alone.aggregatorEventsPerSecond());
        run.figure(aloneGroup, "the sink alone afterwards, until all rows are in usage_hourly (start-up included)", alone.sinkEventsPerSecond(),
                "events/s", "none", reference -> Double.NaN);
        cpuFigures(run, aloneGroup, "CPU per event of the sink alone", alone.sinkCpuMicrosPerEvent(), alone.sinkEventsPerSecond());
    }

    /**
     * The README's analyst queries on the data the run produced, for the busiest account of the skewed workload
     * (the most rows). Not compared with anything: they must stay interactive (well under a second).
     */
    private void measureQueries(Run run) throws Exception {
        run.watch().awaitCaughtUp(CATCH_UP_TIMEOUT);
        PipelineWatch.PeriodRefresh refresh = run.watch().bringPeriodsUpToDate(CATCH_UP_TIMEOUT);
        progress.line("day and month tables brought up to date: %,d stale days re-folded in %.1f s", refresh.staleDays(), refresh.seconds());
        run.phases().put("period refresh before the queries", refresh);
        // 50 on the full data: the slowest analyst query takes seconds a run. Quick: 10, under 3 minutes on a slow 2-core machine
        int runs = run.settings().mode().equals("quick") ? 10 : 50;
        Workload skewed = run.workload("e2e-skewed", Workload.Traffic.SKEWED);
        String account = skewed.account(0);
        String feature = "feature-0";
        progress.phase("Analyst queries of the README on this run's data, " + runs + " runs each (account " + account + ", " + feature + ")");
        List<AnalystQueries.Timing> timings = new AnalystQueries(run.watch().jdbi()).time(Tenants.DEFAULT,
                account, feature, runs);
        String group = "Analyst queries (README), " + runs + " runs each";
        for (AnalystQueries.Timing timing : timings) {
            queryFigures(run, group, timing.query(), timing);
        }
        if (refresh.staleDays() > 0) {
            run.figure(group, String.format(Locale.ROOT, "before them: %,d stale days (and their months) re-folded", refresh.staleDays()),
                    refresh.staleDays() / refresh.seconds(), "days/s", "none", reference -> Double.NaN);
        }
        run.phases().put("analyst queries", timings);
        // A billing job streams its lines (README, "Querying usage"); the open month's rows are scattered by their updates.
        // Not in quick: its 8 s there would take the run past 3 minutes (the closed month's are streamed in both).
        if (!run.settings().mode().equals("quick")) {
            AnalystQueries.Timing openStreamed = new AnalystQueries(run.watch().jdbi()).timeStreamed(AnalystQueries.BILL_LINES, Tenants.DEFAULT,
                    account, feature, runs);
            queryFigures(run, group, openStreamed.query() + ", streamed (a cursor, each row read and dropped)", openStreamed);
            run.phases().put("bill lines, streamed", openStreamed);
        }

        progress.phase("Query API next to the same SQL straight against PostgreSQL, " + runs + " runs each");
        List<QueryApiTimings.Timing> api = new QueryApiTimings(run.http(), run.pipeline().queryUrl(), BenchPipeline.QUERY_KEY,
                run.watch().jdbi()).time(account, feature, runs);
        String apiGroup = "Query API (HTTP) vs the same SQL, " + runs + " runs each";
        for (QueryApiTimings.Timing timing : api) {
            progress.line("%s: API p50 %.1f ms, p99 %.1f ms; SQL p50 %.1f ms, p99 %.1f ms", timing.question(), timing.apiP50(),
                    timing.apiP99(), timing.sqlP50(), timing.sqlP99());
            run.references().put("sql " + timing.question(), new Reference("the same SQL straight against PostgreSQL", Double.NaN,
                    timing.sqlP50(), timing.sqlP99(), Double.NaN));
            run.figure(apiGroup, timing.question() + ": p50", timing.apiP50(), "ms", "sql " + timing.question(), Reference::p50Millis);
            run.figure(apiGroup, timing.question() + ": p99", timing.apiP99(), "ms", "sql " + timing.question(), Reference::p99Millis);
        }
        run.phases().put("query API", api);

        progress.phase("Bill lines once the month is closed, as billed (rewritten in account order and vacuumed by the sink), " + runs + " runs");
        long start = System.nanoTime();
        long rewritten = run.watch().closeMonthsAsTheSinkWould();
        progress.line("month rows rewritten in account order and vacuumed: %,d in %.1f s", rewritten, (System.nanoTime() - start) / 1e9);
        AnalystQueries.Timing closed = new AnalystQueries(run.watch().jdbi()).time(AnalystQueries.BILL_LINES, Tenants.DEFAULT, account, feature, runs);
        queryFigures(run, group, closed.query() + ", once closed (rewritten in account order, vacuumed)", closed);
        run.phases().put("bill lines once the month is closed", closed);
        AnalystQueries.Timing streamed = new AnalystQueries(run.watch().jdbi()).timeStreamed(AnalystQueries.BILL_LINES, Tenants.DEFAULT, account,
                feature, runs);
        queryFigures(run, group, closed.query() + ", once closed, streamed (a cursor, each row read and dropped)", streamed);
        run.phases().put("bill lines once the month is closed, streamed", streamed);
    }

    /** One analyst query's p50, p99 and PostgreSQL's own execution time, printed and as figures of the group. */
    private void queryFigures(Run run, String group, String name, AnalystQueries.Timing timing) {
        progress.line("%s: p50 %.1f ms, p99 %.1f ms (%d rows); in PostgreSQL p50 %.1f ms", name, timing.p50Millis(),
                timing.p99Millis(), timing.rows(), timing.serverP50Millis());
        run.figure(group, name + ": p50", timing.p50Millis(), "ms", "none", reference -> Double.NaN);
        run.figure(group, name + ": p99", timing.p99Millis(), "ms", "none", reference -> Double.NaN);
        run.figure(group, String.format(Locale.ROOT, "%s: p50 of PostgreSQL's execution alone (EXPLAIN ANALYZE; %,d rows)", name,
                timing.rows()), timing.serverP50Millis(), "ms", "none", reference -> Double.NaN);
    }

    private static List<Workload.Event> events(Workload workload, long requestIndex, int perRequest) {
        List<Workload.Event> events = new ArrayList<>(perRequest);
        for (int i = 0; i < perRequest; i++) {
            events.add(workload.event(requestIndex * perRequest + i));
        }
        return events;
    }

    /** The mean size of our records on the wire (Confluent framing + Avro), so the reference sends the same bytes. */
    private static int averageRecordSize(BenchPipeline pipeline, Workload workload) {
        try (AvroSerializer<UsageEvent> serializer = new AvroSerializer<>(SchemaRegistryClient.forUrl(pipeline.schemaRegistryUrl()), false)) {
            long bytes = 0;
            int samples = 1000;
            Instant receivedAt = Instant.now();
            for (int n = 0; n < samples; n++) {
                bytes += serializer.serialize(Topics.USAGE_EVENTS, AggregatorDrain.toAvro(workload.event(n), receivedAt)).length;
            }
            return (int) Math.round((double) bytes / samples);
        }
    }

    private static void createReferenceTopic(String bootstrapServers, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
            admin.createTopics(List.of(new NewTopic(REFERENCE_TOPIC, partitions, (short) 1))).all().get();
        }
    }

    /** The ingest API's producer linger (INGEST_LINGER, default 5 ms), given to the reference producer too. */
    private long lingerMillis() {
        String linger = serviceOverrides.get("INGEST_LINGER");
        return linger == null ? dev.metering.ingest.IngestApiConfig.DEFAULT_LINGER.toMillis() : Duration.parse(linger).toMillis();
    }

    private static Map<String, Object> settingsMap(Settings settings) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("mode", settings.mode());
        map.put("pipeline warm-up", settings.pipelineWarmupSeconds() + " s per API before measuring");
        map.put("end-to-end warm-up", "1/" + WARMUP_FRACTION + " of each shape's events first, unmeasured, down the same path (the same accounts)");
        map.put("HTTP clients (closed loop)", settings.concurrency());
        map.put("HTTP phase", settings.phaseSeconds() + " s measured after " + settings.warmupSeconds() + " s warm-up");
        map.put("end-to-end and naive events", settings.endToEndEvents());
        map.put("aggregator drain events", settings.drainEvents());
        map.put("freshness load", settings.freshnessRate() + " events/s in batches of " + settings.freshnessBatch() + " for " + settings.freshnessSeconds() + " s");
        map.put("reference producer records", settings.referenceRecords());
        map.put("topic partitions", settings.partitions());
        map.put("accounts × features", settings.accounts() + " × " + settings.features());
        map.put("deployment", "one JVM: embedded KRaft broker, ingest API, aggregator, sink, load generator; PostgreSQL as its own process");
        map.put("PostgreSQL", settings.postgres());
        return map;
    }

    private static Results.Machine machine() {
        String cpu = "unknown";
        try {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(line -> line.startsWith("model name"))
                    .map(line -> line.substring(line.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
        } catch (IOException e) {
            // not Linux: the CPU model stays unknown
        }
        long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        return new Results.Machine(System.getProperty("os.name") + " " + System.getProperty("os.version"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), cpu, memory, Runtime.getRuntime().maxMemory());
    }

    private static String meteringVersion() {
        try (InputStream in = Benchmark.class.getResourceAsStream("/metering-bench.properties")) {
            Properties properties = new Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void write(Path dir, Results results) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(dir.resolve("results.json").toFile(), results);
        Files.writeString(dir.resolve("results.md"), MarkdownReport.render(results));
        Charts.write(dir, results);
    }
}
