package dev.metering.standalone;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole pipeline in one process: an embedded KRaft broker, an embedded (or given) PostgreSQL, the
 * in-memory schema registry and the services. Ctrl-C stops everything in reverse order.
 */
@Command(name = "metering-standalone", mixinStandardHelpOptions = true,
        description = "Runs the metering pipeline in one process: Kafka broker, PostgreSQL, schema registry, ingest API, aggregator and sink.")
public final class Standalone implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(Standalone.class);
    static final String REGISTRY_URL = "mem://standalone";

    @Option(names = "--data-dir", description = "Keep Kafka and PostgreSQL data here so it survives a restart (default: a temporary directory, deleted on exit).")
    Path dataDir;

    @Option(names = "--port", defaultValue = "7400", description = "Port of the ingest API (default: ${DEFAULT-VALUE}).")
    int apiPort;

    @Option(names = "--query-port", defaultValue = "7403", description = "Port of the query API, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int queryPort;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Port of the embedded Kafka broker, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--postgres-port", defaultValue = "5433", description = "Port of the embedded PostgreSQL, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int postgresPort;

    @Option(names = "--database-url", description = "Use this PostgreSQL (JDBC URL, e.g. jdbc:postgresql://localhost:5432/metering?user=postgres) instead of the embedded one.")
    String databaseUrl;

    @Option(names = "--partitions", defaultValue = "3", description = "Partitions of the pipeline's topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    /** The variables the services read; the process environment, replaced in tests. */
    Map<String, String> environment = System.getenv();

    /** The running pipeline; null before start and after stop. */
    private InProcessPipeline running;
    private final CountDownLatch stopped = new CountDownLatch(1);

    public static void main(String[] args) {
        System.exit(new CommandLine(new Standalone()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "standalone-shutdown"));
        try {
            Pipeline pipeline = start();
            System.out.println(pipeline.banner());
        } catch (Exception e) {
            LOG.error("Could not start the pipeline: {}", e.getMessage(), e);
            stop();
            return 1;
        }
        stopped.await();
        return 0;
    }

    /** What a running standalone offers, for the banner and for tests. */
    record Pipeline(String kafkaBootstrapServers, String jdbcUrl, String databaseUser, int apiPort, boolean demoCredentials,
                    String demoKindeToken, int queryPort, boolean demoQueryKey) {
        String banner() {
            String demo = !demoCredentials ? "" : String.join(System.lineSeparator(),
                    "",
                    "No credentials configured, so demo ones are on (set INGEST_API_KEYS / INGEST_FRONTIER_CREDENTIALS to replace them):",
                    "  curl -s -H 'X-Api-Key: demo-key' -H 'Content-Type: application/json' http://localhost:" + apiPort + "/v1/events:batch \\",
                    "    -d '{\"events\": [{\"event_id\": \"e-1\", \"billing_account_id\": \"acct-1\", \"feature_code\": \"api_calls\", \"quantity\": \"3\", \"value_type\": \"DELTA\"}]}'",
                    "  curl -s -u demo:demo-secret -H 'Content-Type: application/json' http://localhost:" + apiPort
                            + "/v1beta1/organizations/org-1/billing/acct-1/usages -d '{\"usages\": [{\"id\": \"u-1\", \"source\": \"storage\", \"amount\": 5}]}'");
            String kinde = demoKindeToken == null ? "" : String.join(System.lineSeparator(),
                    "",
                    "No Kinde key configured, so a demo signing key was generated and is trusted (issuer " + DemoKinde.ISSUER + ", audience "
                            + DemoKinde.AUDIENCE + "; set KINDE_JWKS_URL or KINDE_JWT_PUBLIC_KEY to replace it). A token valid for a day:",
                    "  curl -s -H 'Authorization: Bearer " + demoKindeToken + "' \\",
                    "    -H 'Content-Type: application/json' -H 'Idempotency-Key: usage-1' http://localhost:" + apiPort + "/api/v1/billing/meter_usage \\",
                    "    -d '{\"customer_agreement_id\": \"acct-1\", \"billing_feature_code\": \"seats\", \"meter_value\": \"1\"}'",
                    "  (a retry sends the same Idempotency-Key; without one every request counts as a new usage, as in Kinde)");
            return String.join(System.lineSeparator(),
                    "",
                    "Metering pipeline is running.",
                    "  Kafka bootstrap servers: " + kafkaBootstrapServers,
                    "  Schema registry:         " + REGISTRY_URL + " (in memory)",
                    "  PostgreSQL:              " + jdbcUrl + " (user " + databaseUser + ")",
                    "  Ingest API:              http://localhost:" + apiPort + " (OpenAPI: /openapi.json)",
                    "  Query API:               http://localhost:" + queryPort + " (OpenAPI: /openapi.json)",
                    demo,
                    kinde,
                    "",
                    "Ask for usage over HTTP" + (demoQueryKey ? " (demo key of the default tenant; set QUERY_API_KEYS to replace it)" : "") + ":",
                    "  curl -s -H 'X-Api-Key: " + (demoQueryKey ? "demo-query-key" : "<your query key>") + "' 'http://localhost:" + queryPort
                            + "/v1/usage/current?billing_account_id=acct-1&period=month'",
                    "",
                    "Query the rollups with SQL:",
                    "  psql \"" + psqlUrl() + "\" -c 'SELECT * FROM usage_hourly ORDER BY window_start DESC LIMIT 20'",
                    "",
                    "Press Ctrl-C to stop.");
        }

        private String psqlUrl() {
            String withoutPrefix = jdbcUrl.replaceFirst("^jdbc:", "");
            return withoutPrefix.contains("?") ? withoutPrefix : withoutPrefix + "?user=" + databaseUser;
        }
    }

    Pipeline start() {
        InProcessPipeline.Builder builder = InProcessPipeline.builder()
                .temporaryPrefix("metering-standalone-")
                .dataDir(dataDir)
                .kafkaPort(kafkaPort)
                .registryUrl(REGISTRY_URL)
                .partitions(partitions)
                .apiPort(apiPort)
                .queryPort(queryPort)
                .environment(environment);
        if (databaseUrl != null) {
            builder.database(databaseUrl);
        } else {
            builder.embeddedDatabase(postgresPort);
        }
        InProcessPipeline pipeline = builder.start();
        synchronized (this) {
            running = pipeline;
        }
        QueryAccess.Started query = pipeline.query();
        return new Pipeline(pipeline.bootstrapServers(), pipeline.jdbcUrl(), pipeline.databaseUser() == null ? "(from URL)" : pipeline.databaseUser(),
                pipeline.apiPort(), pipeline.demoCredentials(), pipeline.demoKinde() ? pipeline.demoKindeToken(Instant.now(), "org-1") : null,
                query.port(), query.demoKey());
    }

    synchronized void stop() {
        if (running != null) {
            running.close(); // stops each part in reverse order, logging what fails
            running = null;
        }
        stopped.countDown();
    }
}
