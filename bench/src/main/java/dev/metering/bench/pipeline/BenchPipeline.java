package dev.metering.bench.pipeline;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.bench.load.ApiRequests;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.SinkConfig;
import dev.metering.standalone.InProcessPipeline;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * The pipeline under test, in this process ({@link InProcessPipeline}): an embedded KRaft broker, PostgreSQL
 * (embedded, or a fresh database on a given server) and the three services configured as in production but for
 * credentials, ports (any free one) and the rate limit (off: the benchmark is the only client). Service settings can
 * be overridden with the services' own environment variables, which is how tuning is compared.
 */
public final class BenchPipeline implements AutoCloseable {
    static final String API_KEY_NAME = "bench";
    static final String API_KEY = "bench-key";
    static final String FRONTIER_USER = "bench";
    static final String FRONTIER_SECRET = "bench-secret";
    /** The query API's key: reads every account of the default tenant, where the benchmark's events are. */
    public static final String QUERY_KEY = "bench-query-key";
    private static final String REGISTRY_URL = "mem://bench";

    private final InProcessPipeline pipeline;
    /** A Kinde M2M access token, valid for the whole run, as a client would reuse it. */
    private final String kindeToken;

    private BenchPipeline(InProcessPipeline pipeline) {
        this.pipeline = pipeline;
        this.kindeToken = pipeline.demoKindeToken(Instant.now(), null);
    }

    /**
     * @param databaseUrl      a JDBC URL of a PostgreSQL server to create a fresh database on, or null for an embedded one
     * @param embeddedSettings the embedded server's settings over its defaults (postgresql.conf names)
     * @param overrides        service environment variables laid over the benchmark's
     */
    public static BenchPipeline start(int partitions, String databaseUrl, Map<String, String> embeddedSettings, Map<String, String> overrides) {
        Map<String, String> variables = new HashMap<>();
        variables.put("INGEST_HTTP_HOST", "127.0.0.1");
        variables.put("AGGREGATOR_HTTP_PORT", "0");
        variables.put("SINK_HTTP_PORT", "0");
        variables.put("INGEST_RATE_LIMIT_PER_SECOND", "0");
        variables.put("INGEST_API_KEYS", API_KEY_NAME + ":" + API_KEY);
        variables.put("INGEST_FRONTIER_CREDENTIALS", FRONTIER_USER + ":" + FRONTIER_SECRET + ":*");
        variables.put("QUERY_API_KEYS", "bench:" + QUERY_KEY + ":default");
        variables.putAll(overrides);
        InProcessPipeline.Builder builder = InProcessPipeline.builder()
                .temporaryPrefix("metering-bench-")
                .registryUrl(REGISTRY_URL)
                .partitions(partitions)
                .queryApi(true)
                .queryPort(0)
                .embeddedDatabaseSettings(embeddedSettings)
                .overrides(variables);
        if (databaseUrl != null) {
            builder.freshDatabaseOn(databaseUrl);
        }
        InProcessPipeline pipeline = builder.start();
        try {
            return new BenchPipeline(pipeline);
        } catch (RuntimeException e) {
            pipeline.close();
            throw e;
        }
    }

    /** A new aggregator instance (same application id, so it resumes from the committed offsets). */
    public void startAggregator() {
        pipeline.startAggregator();
    }

    public void stopAggregator() {
        pipeline.stopAggregator();
    }

    /** A new sink (same consumer group, so it resumes from the offsets it stored in PostgreSQL). */
    public void startSink() {
        pipeline.startSink();
    }

    public void stopSink() {
        pipeline.stopSink();
    }

    public boolean sinkCaughtUp() {
        return pipeline.sinkCaughtUp();
    }

    public String apiUrl() {
        return pipeline.apiUrl();
    }

    public String queryUrl() {
        return pipeline.queryUrl();
    }

    public String schemaRegistryUrl() {
        return pipeline.schemaRegistryUrl();
    }

    public String bootstrapServers() {
        return pipeline.bootstrapServers();
    }

    public PostgresDatabase postgres() {
        return pipeline.database();
    }

    public String aggregatorApplicationId() {
        return AggregatorConfig.fromEnv(pipeline.env()).applicationId();
    }

    public String sinkGroupId() {
        return SinkConfig.fromEnv(pipeline.env()).groupId();
    }

    public ApiRequests requests() {
        return new ApiRequests(apiUrl(), API_KEY, FRONTIER_USER, FRONTIER_SECRET, kindeToken);
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
