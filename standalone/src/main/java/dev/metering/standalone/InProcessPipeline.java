package dev.metering.standalone;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorService;
import dev.metering.embedded.Directories;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.ingest.IngestApi;
import dev.metering.ingest.IngestApiConfig;
import dev.metering.ops.Env;
import dev.metering.schemas.TopicSetup;
import dev.metering.sink.SinkConfig;
import dev.metering.sink.SinkService;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole pipeline in this process, the one wiring standalone and the benchmark share: an embedded KRaft broker,
 * PostgreSQL (embedded, a given one, or a fresh database on a given server), the in-memory schema registry, the
 * topics, then the services in dependency order (aggregator, sink, ingest API, query API); {@link #close()} stops them
 * in reverse. Each service reads the same environment variables as when it runs alone, with the pipeline's broker,
 * registry, database and ports laid over them, and the caller's overrides over those. When no credentials are
 * configured, demo ones are on; when no Kinde key is configured, a demo signing key is generated ({@link DemoKinde}).
 */
public final class InProcessPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InProcessPipeline.class);
    /** Credentials of the demo set up when none are configured. */
    static final String DEMO_API_KEY = "demo:demo-key";
    static final String DEMO_FRONTIER_CREDENTIAL = "demo:demo-secret:*";

    private final Builder settings;
    private final Deque<AutoCloseable> running = new ArrayDeque<>();
    private EmbeddedKafka kafka;
    private PostgresDatabase database;
    private String jdbcUrl;
    private String databaseUser;
    private Env env;
    private boolean demoCredentials;
    private DemoKinde demoKinde;
    private AggregatorService aggregator;
    private SinkService sink;
    private IngestApi api;
    private QueryAccess.Started query;

    private InProcessPipeline(Builder settings) {
        this.settings = settings;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** What to start; every setting has a default fit for a test (any free port, temporary data, embedded PostgreSQL). */
    public static final class Builder {
        private Path dataDir;
        private String temporaryPrefix = "metering-pipeline-";
        private int kafkaPort;
        private int postgresPort;
        private Map<String, String> postgresSettings = Map.of();
        private String databaseUrl;
        private boolean freshDatabase;
        private String registryUrl = "mem://metering";
        private int partitions = 3;
        private int apiPort;
        private int queryPort;
        private boolean queryApi = true;
        private Map<String, String> environment = Map.of();
        private final Map<String, String> overrides = new HashMap<>();

        private Builder() {
        }

        /** Keep Kafka's and PostgreSQL's data here (kept on close); null: a temporary directory deleted on close. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** Name prefix of the temporary directory used without {@link #dataDir}. */
        public Builder temporaryPrefix(String prefix) {
            this.temporaryPrefix = prefix;
            return this;
        }

        public Builder kafkaPort(int port) {
            this.kafkaPort = port;
            return this;
        }

        /** Port of the embedded PostgreSQL (the default database). */
        public Builder embeddedDatabase(int port) {
            this.databaseUrl = null;
            this.postgresPort = port;
            return this;
        }

        /** Settings of the embedded PostgreSQL server (postgresql.conf names) over its defaults; no effect on a given server. */
        public Builder embeddedDatabaseSettings(Map<String, String> settings) {
            this.postgresSettings = Map.copyOf(settings);
            return this;
        }

        /** Use this database as it is (JDBC URL, credentials in it) instead of an embedded one. */
        public Builder database(String jdbcUrl) {
            this.databaseUrl = jdbcUrl;
            this.freshDatabase = false;
            return this;
        }

        /** Create a fresh database on this server (JDBC URL of any database on it) and use that; dropped on close. */
        public Builder freshDatabaseOn(String serverUrl) {
            this.databaseUrl = serverUrl;
            this.freshDatabase = true;
            return this;
        }

        public Builder registryUrl(String url) {
            this.registryUrl = url;
            return this;
        }

        public Builder partitions(int partitions) {
            this.partitions = partitions;
            return this;
        }

        public Builder apiPort(int port) {
            this.apiPort = port;
            return this;
        }

        public Builder queryPort(int port) {
            this.queryPort = port;
            return this;
        }

        /** Whether to start the query API (on by default). */
        public Builder queryApi(boolean on) {
            this.queryApi = on;
            return this;
        }

        /** The variables the services read underneath the pipeline's own (the process environment for standalone). */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        /** Service variables laid over everything else (the benchmark's tuning, fixed credentials). */
        public Builder overrides(Map<String, String> overrides) {
            this.overrides.putAll(overrides);
            return this;
        }

        /** Starts everything; on failure, what was started is stopped again and the failure thrown. */
        public InProcessPipeline start() {
            InProcessPipeline pipeline = new InProcessPipeline(this);
            try {
                pipeline.startAll();
                return pipeline;
            } catch (RuntimeException e) {
                pipeline.close();
                throw e;
            }
        }
    }

    private void startAll() {
        Path root = settings.dataDir;
        if (root == null) {
            Path temporary = Directories.temporary(settings.temporaryPrefix);
            root = temporary;
            running.push(() -> Directories.deleteRecursively(temporary)); // pushed first, so it runs after everything has stopped
        }
        kafka = EmbeddedKafka.start(root.resolve("kafka"), settings.kafkaPort, Map.of());
        running.push(kafka);

        String databasePassword = null;
        if (settings.databaseUrl != null && !settings.freshDatabase) {
            jdbcUrl = settings.databaseUrl;
        } else {
            database = settings.freshDatabase ? PostgresDatabase.freshDatabaseOn(settings.databaseUrl)
                    : PostgresDatabase.embedded(root.resolve("postgres"), settings.postgresPort, settings.postgresSettings);
            running.push(database);
            jdbcUrl = database.jdbcUrl();
            databaseUser = database.username();
            databasePassword = database.password();
        }

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            TopicSetup.ensureTopics(admin, new TopicSetup.TopicSettings(settings.partitions, (short) 1,
                    TopicSetup.TopicSettings.DEFAULTS.eventsRetention(), TopicSetup.TopicSettings.DEFAULTS.dlqRetention()));
        }

        Map<String, String> variables = new HashMap<>(settings.environment);
        variables.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
        variables.put("SCHEMA_REGISTRY_URL", settings.registryUrl);
        variables.put("DATABASE_URL", jdbcUrl);
        putIfPresent(variables, "DATABASE_USER", databaseUser);
        putIfPresent(variables, "DATABASE_PASSWORD", databasePassword);
        variables.put("INGEST_HTTP_PORT", String.valueOf(settings.apiPort));
        variables.put("METERING_TOPIC_PARTITIONS", String.valueOf(settings.partitions));
        variables.put("METERING_TOPIC_REPLICATION", "1");
        variables.putIfAbsent("AGGREGATOR_STATE_DIR", root.resolve("streams").toString());
        variables.putAll(settings.overrides);
        demoCredentials = !variables.containsKey("INGEST_API_KEYS") && !variables.containsKey("INGEST_API_KEYS_FILE")
                && !variables.containsKey("INGEST_FRONTIER_CREDENTIALS") && !variables.containsKey("INGEST_FRONTIER_CREDENTIALS_FILE");
        if (demoCredentials) {
            variables.put("INGEST_API_KEYS", DEMO_API_KEY);
            variables.put("INGEST_FRONTIER_CREDENTIALS", DEMO_FRONTIER_CREDENTIAL);
        }
        if (DemoKinde.wanted(variables)) {
            demoKinde = DemoKinde.generate();
            variables.putAll(demoKinde.variables());
        }
        env = new Env(variables);

        startAggregator();
        running.push(this::stopAggregator);
        startSink();
        running.push(this::stopSink);
        api = new IngestApi(IngestApiConfig.fromEnv(env)).start();
        running.push(api);
        if (settings.queryApi) {
            // After the sink: its migrations created the read-only role the query API connects as.
            query = QueryAccess.start(jdbcUrl, databaseUser, databasePassword, settings.queryPort, variables);
            running.push(query.api());
        }
    }

    private static void putIfPresent(Map<String, String> variables, String name, String value) {
        if (value != null) {
            variables.put(name, value);
        }
    }

    /** Starts an aggregator (again, after {@link #stopAggregator()}: same application id, so it resumes from its committed offsets). */
    public synchronized void startAggregator() {
        if (aggregator != null) {
            throw new IllegalStateException("aggregator is running");
        }
        AggregatorService service = new AggregatorService(AggregatorConfig.fromEnv(env));
        service.start();
        aggregator = service;
    }

    /** Stops the aggregator alone (the benchmark's drain phase); nothing when it is not running. */
    public synchronized void stopAggregator() {
        if (aggregator != null) {
            aggregator.close();
            aggregator = null;
        }
    }

    /** Starts a sink (again, after {@link #stopSink()}: same group, so it resumes from the offsets stored in PostgreSQL). */
    public synchronized void startSink() {
        if (sink != null) {
            throw new IllegalStateException("sink is running");
        }
        SinkService service = new SinkService(SinkConfig.fromEnv(env));
        service.start();
        sink = service;
    }

    /** Stops the sink alone (the benchmark's drain of the aggregator alone); nothing when it is not running. */
    public synchronized void stopSink() {
        if (sink != null) {
            sink.close();
            sink = null;
        }
    }

    /** Whether the sink has stored everything the aggregator committed so far (see {@link SinkService#caughtUp}). */
    public boolean sinkCaughtUp() {
        return sink != null && sink.caughtUp();
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public String schemaRegistryUrl() {
        return settings.registryUrl;
    }

    public String jdbcUrl() {
        return jdbcUrl;
    }

    /** The database's user, or null when it comes with the given URL. */
    public String databaseUser() {
        return databaseUser;
    }

    /** The database the pipeline created (embedded or fresh), or null when it was given. */
    public PostgresDatabase database() {
        return database;
    }

    /** The variables the services were started with. */
    public Env env() {
        return env;
    }

    public int apiPort() {
        return api.port();
    }

    public String apiUrl() {
        return "http://127.0.0.1:" + api.port();
    }

    /** Whether the demo ingest credentials are on (none were configured). */
    public boolean demoCredentials() {
        return demoCredentials;
    }

    /** Whether the demo Kinde key is on (no Kinde key was configured). */
    public boolean demoKinde() {
        return demoKinde != null;
    }

    /** A bearer token signed with the demo Kinde key, valid for a day; {@code orgCode} null: the default tenant. */
    public String demoKindeToken(Instant now, String orgCode) {
        if (demoKinde == null) {
            throw new IllegalStateException("a Kinde key is configured; there is no demo key");
        }
        return demoKinde.token(now, orgCode);
    }

    /** The query API, or null when it was not asked for. */
    QueryAccess.Started query() {
        return query;
    }

    /** The query API's base URL (it must have been asked for). */
    public String queryUrl() {
        if (query == null) {
            throw new IllegalStateException("the query API was not started");
        }
        return "http://127.0.0.1:" + query.port();
    }

    /** Stops the services in reverse order, then the database and the broker, then deletes temporary data. */
    @Override
    public synchronized void close() {
        while (!running.isEmpty()) {
            AutoCloseable next = running.pop();
            try {
                next.close();
            } catch (Exception e) {
                LOG.warn("Error while stopping {}: {}", next, e.getMessage());
            }
        }
    }
}
