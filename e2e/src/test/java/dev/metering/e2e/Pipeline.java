package dev.metering.e2e;

import dev.metering.embedded.Directories;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.FreePorts;
import dev.metering.embedded.PostgresDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real broker and a real PostgreSQL in the test JVM, and the three services as separate OS processes
 * on the same classpath, configured only through environment variables as in production.
 */
final class Pipeline implements AutoCloseable {
    static final String API_KEY = "e2e-key";
    /** Frontier users bound to one org each, as in issue 19's repro. */
    static final String FRONTIER_CREDENTIALS = "alice:alice-pw:org-a,bob:bob-pw:org-b";
    static final String KINDE_ISSUER = "https://e2e.kinde.test";
    static final String KINDE_AUDIENCE = "e2e-metering";
    /** Every Kinde token of the issuer acts for this org. */
    static final String KINDE_ORG = "org-a";

    final KindeTokens kindeTokens = new KindeTokens(KINDE_ISSUER, KINDE_AUDIENCE);

    final EmbeddedKafka kafka;
    final PostgresDatabase postgres;
    final ServiceProcess ingest;
    final ServiceProcess aggregator;
    final ServiceProcess sink;
    final int apiPort;
    private final Path workDir;

    Pipeline() {
        workDir = Directories.temporary("metering-e2e-");
        kafka = EmbeddedKafka.start();
        postgres = PostgresDatabase.ownServerForTests(); // GuaranteesIT restarts it
        Map<String, String> common = new HashMap<>();
        common.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        common.put("SCHEMA_REGISTRY_URL", "mem://e2e");
        common.put("METERING_TOPIC_PARTITIONS", "3");
        common.put("METERING_TOPIC_REPLICATION", "1");

        int[] ports = FreePorts.pick(3);
        apiPort = ports[0];
        Map<String, String> ingestEnv = new HashMap<>(common);
        ingestEnv.put("INGEST_HTTP_PORT", String.valueOf(apiPort));
        ingestEnv.put("INGEST_API_KEYS", "e2e:" + API_KEY); // unbound: each event may name its org
        ingestEnv.put("INGEST_FRONTIER_CREDENTIALS", FRONTIER_CREDENTIALS);
        ingestEnv.put("KINDE_JWT_PUBLIC_KEY", kindeTokens.publicJwk());
        ingestEnv.put("KINDE_JWT_ISSUER", KINDE_ISSUER);
        ingestEnv.put("KINDE_JWT_AUDIENCE", KINDE_AUDIENCE);
        ingestEnv.put("KINDE_ORG_ID", KINDE_ORG);
        ingestEnv.put("INGEST_RATE_LIMIT_PER_SECOND", "100000");
        ingestEnv.put("INGEST_RATE_LIMIT_BURST", "100000");
        ingestEnv.put("INGEST_DELIVERY_TIMEOUT", "5s");
        ingest = new ServiceProcess("ingest-api", "dev.metering.ingest.IngestApi", ingestEnv, apiPort, workDir);

        Map<String, String> aggregatorEnv = new HashMap<>(common);
        int aggregatorPort = ports[1];
        aggregatorEnv.put("AGGREGATOR_HTTP_PORT", String.valueOf(aggregatorPort));
        aggregatorEnv.put("AGGREGATOR_STATE_DIR", workDir.resolve("streams").toString());
        // The kill tests restart a SIGKILLed instance: the broker's shortest session, not Kafka's 45 s, before it takes over.
        aggregatorEnv.put("AGGREGATOR_SESSION_TIMEOUT", "6s");
        aggregator = new ServiceProcess("aggregator", "dev.metering.aggregator.AggregatorService", aggregatorEnv, aggregatorPort, workDir);

        Map<String, String> sinkEnv = new HashMap<>(common);
        int sinkPort = ports[2];
        sinkEnv.put("SINK_HTTP_PORT", String.valueOf(sinkPort));
        sinkEnv.put("DATABASE_URL", postgres.jdbcUrl());
        sinkEnv.put("DATABASE_USER", postgres.username());
        sinkEnv.put("DATABASE_PASSWORD", postgres.password());
        sinkEnv.put("SINK_SESSION_TIMEOUT", "6s");
        sink = new ServiceProcess("sink", "dev.metering.sink.SinkService", sinkEnv, sinkPort, workDir);

        // Side by side: each waits for the broker and PostgreSQL only, which are up.
        for (ServiceProcess service : List.of(aggregator, sink, ingest)) {
            service.launch();
        }
        for (ServiceProcess service : List.of(aggregator, sink, ingest)) {
            service.awaitReady(Duration.ofSeconds(120));
        }
    }

    private static Pipeline shared;

    /** Held by every test class that uses {@link #shared()}: one of them kills and restarts its parts. */
    static final String RESOURCE = "e2e-shared-pipeline";

    /**
     * One pipeline for every test class of this module (starting one takes half a minute): started by the first
     * class that asks, closed when the test JVM exits.
     */
    static synchronized Pipeline shared() {
        if (shared == null) {
            shared = new Pipeline();
            Pipeline started = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "e2e-pipeline-close"));
        }
        return shared;
    }

    String apiUrl() {
        return "http://127.0.0.1:" + apiPort;
    }

    Path workDir() {
        return workDir;
    }

    @Override
    public void close() {
        for (AutoCloseable part : new AutoCloseable[] {ingest, sink, aggregator, kafka, postgres}) {
            try {
                part.close();
            } catch (Exception e) {
                System.err.println("Could not close " + part + ": " + e);
            }
        }
    }

}
