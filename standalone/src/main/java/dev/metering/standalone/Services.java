package dev.metering.standalone;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorService;
import dev.metering.ingest.IngestApi;
import dev.metering.ingest.IngestApiConfig;
import dev.metering.ops.Env;
import dev.metering.sink.SinkConfig;
import dev.metering.sink.SinkService;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts the pipeline's services in-process, in dependency order (aggregator, sink, then the API that
 * feeds them); closing them in reverse stops them. Each service reads the same environment variables
 * as when it runs alone, with the launcher's broker, registry, database and ports laid over them.
 */
final class Services {
    /** Credentials of the demo set up when none are configured, printed in the banner. */
    static final String DEMO_API_KEY = "demo:demo-key";
    static final String DEMO_FRONTIER_CREDENTIAL = "demo:demo-secret:*";

    private Services() {
    }

    /** @param demoKindeToken a bearer token for the demo Kinde key, or null when Kinde keys are configured */
    record Started(List<AutoCloseable> services, int apiPort, boolean demoCredentials, String demoKindeToken, QueryAccess.Started query) {
    }

    static Started start(ServiceSettings settings, Map<String, String> environment) {
        Map<String, String> variables = new HashMap<>(environment);
        variables.put("KAFKA_BOOTSTRAP_SERVERS", settings.kafkaBootstrapServers());
        variables.put("SCHEMA_REGISTRY_URL", settings.schemaRegistryUrl());
        variables.put("DATABASE_URL", settings.jdbcUrl());
        putIfPresent(variables, "DATABASE_USER", settings.databaseUser());
        putIfPresent(variables, "DATABASE_PASSWORD", settings.databasePassword());
        variables.put("INGEST_HTTP_PORT", String.valueOf(settings.apiPort()));
        variables.put("METERING_TOPIC_PARTITIONS", String.valueOf(settings.partitions()));
        variables.put("METERING_TOPIC_REPLICATION", "1");
        variables.putIfAbsent("AGGREGATOR_STATE_DIR", settings.stateDir().toString());
        boolean demo = !variables.containsKey("INGEST_API_KEYS") && !variables.containsKey("INGEST_API_KEYS_FILE")
                && !variables.containsKey("INGEST_FRONTIER_CREDENTIALS") && !variables.containsKey("INGEST_FRONTIER_CREDENTIALS_FILE");
        if (demo) {
            variables.put("INGEST_API_KEYS", DEMO_API_KEY);
            variables.put("INGEST_FRONTIER_CREDENTIALS", DEMO_FRONTIER_CREDENTIAL);
        }
        String demoKindeToken = null;
        if (DemoKinde.wanted(variables)) {
            DemoKinde kinde = DemoKinde.generate();
            variables.putAll(kinde.variables());
            demoKindeToken = kinde.token(java.time.Instant.now());
        }
        Env env = new Env(variables);

        List<AutoCloseable> started = new ArrayList<>();
        try {
            AggregatorService aggregator = new AggregatorService(AggregatorConfig.fromEnv(env));
            aggregator.start();
            started.add(aggregator);
            SinkService sink = new SinkService(SinkConfig.fromEnv(env));
            sink.start();
            started.add(sink);
            IngestApi api = new IngestApi(IngestApiConfig.fromEnv(env)).start();
            started.add(api);
            // After the sink: its migrations created the read-only role the query API connects as.
            QueryAccess.Started query = QueryAccess.start(settings, variables);
            started.add(query.api());
            return new Started(started, api.port(), demo, demoKindeToken, query);
        } catch (RuntimeException e) {
            for (int i = started.size() - 1; i >= 0; i--) {
                try {
                    started.get(i).close();
                } catch (Exception closing) {
                    e.addSuppressed(closing);
                }
            }
            throw e;
        }
    }

    private static void putIfPresent(Map<String, String> variables, String name, String value) {
        if (value != null) {
            variables.put(name, value);
        }
    }
}
