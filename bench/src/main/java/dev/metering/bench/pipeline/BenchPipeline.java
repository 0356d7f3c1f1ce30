package dev.metering.bench.pipeline;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorService;
import dev.metering.bench.load.ApiRequests;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * The pipeline under test, in this process: an embedded KRaft broker, PostgreSQL (embedded, or a fresh
 * database on a given server) and the three services configured as in production but for credentials,
 * ports (any free one) and the rate limit (off: the benchmark is the only client). Service settings can be
 * overridden with the services' own environment variables, which is how tuning is compared.
 */
public final class BenchPipeline implements AutoCloseable {
    static final String API_KEY_NAME = "bench";
    static final String API_KEY = "bench-key";
    static final String FRONTIER_USER = "bench";
    static final String FRONTIER_SECRET = "bench-secret";
    private static final String REGISTRY_URL = "mem://bench";
    private static final String KINDE_ISSUER = "https://bench.kinde.example";
    private static final String KINDE_AUDIENCE = "https://metering.bench/api";

    private final EmbeddedKafka kafka;
    private final PostgresDatabase postgres;
    private final Path stateDir;
    private final Env env;
    private final RSAKey kindeKey;
    private AggregatorService aggregator;
    private SinkService sink;
    private IngestApi api;

    private BenchPipeline(EmbeddedKafka kafka, PostgresDatabase postgres, Path stateDir, Env env, RSAKey kindeKey) {
        this.kafka = kafka;
        this.postgres = postgres;
        this.stateDir = stateDir;
        this.env = env;
        this.kindeKey = kindeKey;
    }

    /**
     * @param databaseUrl a JDBC URL of a PostgreSQL server to create a fresh database on, or null for an embedded one
     * @param overrides   service environment variables laid over the benchmark's
     */
    public static BenchPipeline start(int partitions, String databaseUrl, Map<String, String> overrides) throws JOSEException {
        List<AutoCloseable> started = new ArrayList<>();
        try {
            EmbeddedKafka kafka = EmbeddedKafka.start(Directories.temporary("metering-bench-kafka-"), 0, Map.of());
            started.add(kafka);
            PostgresDatabase postgres = databaseUrl == null ? PostgresDatabase.embedded(null, 0) : PostgresDatabase.freshDatabaseOn(databaseUrl);
            started.add(postgres);
            RSAKey kindeKey = new RSAKeyGenerator(2048).keyID("bench").generate();
            Path stateDir = Directories.temporary("metering-bench-streams-");

            Map<String, String> variables = new HashMap<>();
            variables.put("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
            variables.put("SCHEMA_REGISTRY_URL", REGISTRY_URL);
            variables.put("DATABASE_URL", postgres.jdbcUrl());
            variables.put("DATABASE_USER", postgres.username());
            variables.put("DATABASE_PASSWORD", postgres.password());
            variables.put("METERING_TOPIC_PARTITIONS", String.valueOf(partitions));
            variables.put("METERING_TOPIC_REPLICATION", "1");
            variables.put("AGGREGATOR_STATE_DIR", stateDir.toString());
            variables.put("INGEST_HTTP_HOST", "127.0.0.1");
            variables.put("INGEST_HTTP_PORT", "0");
            variables.put("AGGREGATOR_HTTP_PORT", "0");
            variables.put("SINK_HTTP_PORT", "0");
            variables.put("INGEST_RATE_LIMIT_PER_SECOND", "0");
            variables.put("INGEST_API_KEYS", API_KEY_NAME + ":" + API_KEY);
            variables.put("INGEST_FRONTIER_CREDENTIALS", FRONTIER_USER + ":" + FRONTIER_SECRET + ":*");
            variables.put("KINDE_JWT_PUBLIC_KEY", kindeKey.toPublicJWK().toJSONString());
            variables.put("KINDE_JWT_ISSUER", KINDE_ISSUER);
            variables.put("KINDE_JWT_AUDIENCE", KINDE_AUDIENCE);
            variables.putAll(overrides);

            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                TopicSetup.ensureTopics(admin, new TopicSetup.TopicSettings(partitions, (short) 1,
                        TopicSetup.TopicSettings.DEFAULTS.eventsRetention(), TopicSetup.TopicSettings.DEFAULTS.dlqRetention()));
            }
            BenchPipeline pipeline = new BenchPipeline(kafka, postgres, stateDir, new Env(variables), kindeKey);
            started.add(pipeline::closeServices);
            pipeline.startAggregator();
            pipeline.sink = new SinkService(SinkConfig.fromEnv(pipeline.env));
            pipeline.sink.start();
            pipeline.api = new IngestApi(IngestApiConfig.fromEnv(pipeline.env)).start();
            return pipeline;
        } catch (RuntimeException | JOSEException e) {
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

    /** A new aggregator instance (same application id, so it resumes from the committed offsets). */
    public void startAggregator() {
        if (aggregator != null) {
            throw new IllegalStateException("aggregator is running");
        }
        AggregatorService service = new AggregatorService(AggregatorConfig.fromEnv(env));
        service.start();
        aggregator = service;
    }

    public void stopAggregator() {
        if (aggregator != null) {
            aggregator.close();
            aggregator = null;
        }
    }

    public String apiUrl() {
        return "http://127.0.0.1:" + api.port();
    }

    public String schemaRegistryUrl() {
        return REGISTRY_URL;
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public PostgresDatabase postgres() {
        return postgres;
    }

    public String aggregatorApplicationId() {
        return AggregatorConfig.fromEnv(env).applicationId();
    }

    public String sinkGroupId() {
        return SinkConfig.fromEnv(env).groupId();
    }

    public ApiRequests requests() {
        return new ApiRequests(apiUrl(), API_KEY, FRONTIER_USER, FRONTIER_SECRET, kindeToken());
    }

    /** A Kinde M2M access token, valid for the whole run, as a client would reuse it. */
    private String kindeToken() {
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(KINDE_ISSUER)
                .audience(KINDE_AUDIENCE)
                .subject("bench-client")
                .issueTime(new Date())
                .expirationTime(Date.from(Instant.now().plus(Duration.ofDays(1))))
                .claim("scp", List.of("create:meter_usage"))
                .build();
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kindeKey.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
            jwt.sign(new RSASSASigner(kindeKey));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("Could not sign the benchmark's Kinde token", e);
        }
    }

    private void closeServices() {
        if (api != null) {
            api.close();
        }
        stopAggregator();
        if (sink != null) {
            sink.close();
        }
        Directories.deleteRecursively(stateDir);
    }

    @Override
    public void close() {
        try {
            closeServices();
        } finally {
            try {
                postgres.close();
            } finally {
                kafka.close();
            }
        }
    }
}
