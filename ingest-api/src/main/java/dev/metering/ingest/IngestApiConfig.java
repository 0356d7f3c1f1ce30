package dev.metering.ingest;

import dev.metering.ops.auth.ApiKey;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.auth.KindeJwtSettings;
import dev.metering.ops.Env;
import dev.metering.schemas.rules.EventRules;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Configuration of the ingest API. {@link #fromEnv(Env)} documents the variables; see also
 * {@code ingest-api/README.md}.
 *
 * @param rateLimitPerSecond requests per second each credential may send on average; 0 disables the limit
 * @param rateLimitBurst     requests a credential may send at once before the average rate applies
 */
public record IngestApiConfig(
        String httpHost,
        int httpPort,
        String kafkaBootstrapServers,
        String schemaRegistryUrl,
        long maxBodyBytes,
        Duration gracePeriod,
        Duration maxFutureSkew,
        Duration deliveryTimeout,
        Duration linger,
        List<FrontierCredential> frontierCredentials,
        KindeJwtSettings kinde,
        List<ApiKey> apiKeys,
        double rateLimitPerSecond,
        int rateLimitBurst,
        Duration verdictTimeout,
        Duration duplicateCheckWait) {

    public static final int DEFAULT_PORT = 7400;
    public static final long DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
    public static final Duration DEFAULT_GRACE_PERIOD = EventRules.DEFAULT_GRACE_PERIOD;
    public static final Duration DEFAULT_MAX_FUTURE_SKEW = EventRules.DEFAULT_MAX_FUTURE_SKEW;
    public static final Duration DEFAULT_DELIVERY_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_LINGER = Duration.ofMillis(5);
    /** How long a revert waits for the aggregator's verdict before 503 (INGEST_VERDICT_TIMEOUT). */
    public static final Duration DEFAULT_VERDICT_TIMEOUT = Duration.ofSeconds(5);
    /** How long a duplicate check waits for verdicts on usages before it treats them as new (INGEST_DUPLICATE_CHECK_WAIT). */
    public static final Duration DEFAULT_DUPLICATE_CHECK_WAIT = Duration.ofSeconds(1);

    public IngestApiConfig {
        requireText(httpHost, "INGEST_HTTP_HOST");
        requireText(kafkaBootstrapServers, "KAFKA_BOOTSTRAP_SERVERS");
        requireText(schemaRegistryUrl, "SCHEMA_REGISTRY_URL");
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("INGEST_HTTP_PORT=" + httpPort + " is not a port (0-65535, 0 = any free port)");
        }
        if (maxBodyBytes <= 0) {
            throw new IllegalArgumentException("INGEST_MAX_BODY_BYTES=" + maxBodyBytes + " must be greater than 0");
        }
        if (gracePeriod.isNegative()) {
            throw new IllegalArgumentException(EventRules.GRACE_PERIOD_VARIABLE + " must not be negative");
        }
        if (maxFutureSkew.isNegative()) {
            throw new IllegalArgumentException(EventRules.MAX_FUTURE_SKEW_VARIABLE + " must not be negative");
        }
        if (deliveryTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("INGEST_DELIVERY_TIMEOUT=" + deliveryTimeout + " must be at least 1s");
        }
        if (linger.isNegative() || linger.compareTo(deliveryTimeout.dividedBy(2)) > 0) {
            throw new IllegalArgumentException("INGEST_LINGER=" + linger + " must be between 0 and half the delivery timeout");
        }
        if (rateLimitPerSecond < 0 || rateLimitBurst < 0) {
            throw new IllegalArgumentException("INGEST_RATE_LIMIT_PER_SECOND and INGEST_RATE_LIMIT_BURST must not be negative");
        }
        verdictTimeout = verdictTimeout == null ? DEFAULT_VERDICT_TIMEOUT : verdictTimeout;
        duplicateCheckWait = duplicateCheckWait == null ? DEFAULT_DUPLICATE_CHECK_WAIT : duplicateCheckWait;
        if (verdictTimeout.compareTo(Duration.ofMillis(100)) < 0 || duplicateCheckWait.isNegative()) {
            throw new IllegalArgumentException("INGEST_VERDICT_TIMEOUT must be at least 100ms and INGEST_DUPLICATE_CHECK_WAIT not negative");
        }
        frontierCredentials = List.copyOf(frontierCredentials);
        apiKeys = List.copyOf(apiKeys);
        kinde = kinde == null ? KindeJwtSettings.DISABLED : kinde;
        long distinctUsers = frontierCredentials.stream().map(FrontierCredential::username).distinct().count();
        if (distinctUsers != frontierCredentials.size()) {
            throw new IllegalArgumentException("INGEST_FRONTIER_CREDENTIALS names a user more than once");
        }
        long distinctKeyNames = apiKeys.stream().map(ApiKey::name).distinct().count();
        if (distinctKeyNames != apiKeys.size()) {
            throw new IllegalArgumentException("INGEST_API_KEYS names a key more than once");
        }
    }

    /** Defaults for everything but where Kafka and the registry are; no credentials (every API answers 401). */
    public static IngestApiConfig defaults(String kafkaBootstrapServers, String schemaRegistryUrl) {
        return new IngestApiConfig("0.0.0.0", DEFAULT_PORT, kafkaBootstrapServers, schemaRegistryUrl, DEFAULT_MAX_BODY_BYTES,
                DEFAULT_GRACE_PERIOD, DEFAULT_MAX_FUTURE_SKEW, DEFAULT_DELIVERY_TIMEOUT, DEFAULT_LINGER, List.of(), KindeJwtSettings.DISABLED, List.of(),
                1000, 2000, DEFAULT_VERDICT_TIMEOUT, DEFAULT_DUPLICATE_CHECK_WAIT);
    }

    public IngestApiConfig withHttp(String host, int port) {
        return new IngestApiConfig(host, port, kafkaBootstrapServers, schemaRegistryUrl, maxBodyBytes, gracePeriod, maxFutureSkew,
                deliveryTimeout, linger, frontierCredentials, kinde, apiKeys, rateLimitPerSecond, rateLimitBurst, verdictTimeout, duplicateCheckWait);
    }

    /** The same settings against another Kafka cluster and schema registry (for the standalone launcher). */
    public IngestApiConfig withKafka(String bootstrapServers, String registryUrl) {
        return new IngestApiConfig(httpHost, httpPort, bootstrapServers, registryUrl, maxBodyBytes, gracePeriod, maxFutureSkew,
                deliveryTimeout, linger, frontierCredentials, kinde, apiKeys, rateLimitPerSecond, rateLimitBurst, verdictTimeout, duplicateCheckWait);
    }

    public IngestApiConfig withCredentials(List<FrontierCredential> frontier, KindeJwtSettings kindeSettings, List<ApiKey> keys) {
        return new IngestApiConfig(httpHost, httpPort, kafkaBootstrapServers, schemaRegistryUrl, maxBodyBytes, gracePeriod, maxFutureSkew,
                deliveryTimeout, linger, frontier, kindeSettings, keys, rateLimitPerSecond, rateLimitBurst, verdictTimeout, duplicateCheckWait);
    }

    public IngestApiConfig withLimits(long maxBody, Duration delivery, double perSecond, int burst) {
        return new IngestApiConfig(httpHost, httpPort, kafkaBootstrapServers, schemaRegistryUrl, maxBody, gracePeriod, maxFutureSkew,
                delivery, linger, frontierCredentials, kinde, apiKeys, perSecond, burst, verdictTimeout, duplicateCheckWait);
    }

    /** The same settings with other event rules (grace period and future skew, as {@code EventRules} reads them). */
    public IngestApiConfig withEventRules(Duration grace, Duration skew) {
        return new IngestApiConfig(httpHost, httpPort, kafkaBootstrapServers, schemaRegistryUrl, maxBodyBytes, grace, skew,
                deliveryTimeout, linger, frontierCredentials, kinde, apiKeys, rateLimitPerSecond, rateLimitBurst, verdictTimeout, duplicateCheckWait);
    }

    /** The same settings with other verdict waits (revert verdicts, duplicate checks). */
    public IngestApiConfig withVerdictWaits(Duration verdict, Duration duplicateCheck) {
        return new IngestApiConfig(httpHost, httpPort, kafkaBootstrapServers, schemaRegistryUrl, maxBodyBytes, gracePeriod, maxFutureSkew,
                deliveryTimeout, linger, frontierCredentials, kinde, apiKeys, rateLimitPerSecond, rateLimitBurst, verdict, duplicateCheck);
    }

    public IngestApiConfig withLinger(Duration newLinger, Duration delivery) {
        return new IngestApiConfig(httpHost, httpPort, kafkaBootstrapServers, schemaRegistryUrl, maxBodyBytes, gracePeriod, maxFutureSkew,
                delivery, newLinger, frontierCredentials, kinde, apiKeys, rateLimitPerSecond, rateLimitBurst, verdictTimeout, duplicateCheckWait);
    }

    public static IngestApiConfig fromEnv(Env env) {
        return new IngestApiConfig(
                env.string("INGEST_HTTP_HOST", "0.0.0.0"),
                env.integer("INGEST_HTTP_PORT", DEFAULT_PORT),
                env.string("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
                env.string("SCHEMA_REGISTRY_URL", "http://localhost:8081"),
                env.longValue("INGEST_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
                env.duration(EventRules.GRACE_PERIOD_VARIABLE, DEFAULT_GRACE_PERIOD),
                env.duration(EventRules.MAX_FUTURE_SKEW_VARIABLE, DEFAULT_MAX_FUTURE_SKEW),
                env.duration("INGEST_DELIVERY_TIMEOUT", DEFAULT_DELIVERY_TIMEOUT),
                env.duration("INGEST_LINGER", DEFAULT_LINGER),
                entries(env, "INGEST_FRONTIER_CREDENTIALS", FrontierCredential::parse),
                new KindeJwtSettings(
                        env.optional("KINDE_JWKS_URL"),
                        valueOrFile(env, "KINDE_JWT_PUBLIC_KEY"),
                        env.optional("KINDE_JWT_ISSUER"),
                        splitList(env.optional("KINDE_JWT_AUDIENCE"), ","),
                        env.optional("KINDE_ORG_ID"),
                        env.optional("KINDE_ORG_CLAIM")),
                entries(env, "INGEST_API_KEYS", ApiKey::parse),
                rate(env),
                env.integer("INGEST_RATE_LIMIT_BURST", 2000),
                env.duration("INGEST_VERDICT_TIMEOUT", DEFAULT_VERDICT_TIMEOUT),
                env.duration("INGEST_DUPLICATE_CHECK_WAIT", DEFAULT_DUPLICATE_CHECK_WAIT));
    }

    private static double rate(Env env) {
        String value = env.optional("INGEST_RATE_LIMIT_PER_SECOND");
        if (value == null) {
            return 1000;
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("INGEST_RATE_LIMIT_PER_SECOND='" + value + "' is not a number");
        }
    }

    /**
     * Entries from {@code NAME} (comma-separated) and from the file {@code NAME_FILE} names (one per line,
     * {@code #} starts a comment). Parse errors name the variable but never repeat the entry (it holds a secret).
     */
    private static <T> List<T> entries(Env env, String name, Function<String, T> parser) {
        List<T> result = new ArrayList<>();
        String inline = env.optional(name);
        if (inline != null) {
            for (String entry : splitList(inline, ",")) {
                result.add(parse(name, entry, parser));
            }
        }
        String file = env.optional(name + "_FILE");
        if (file != null) {
            for (String line : readFile(name + "_FILE", file).split("\\R")) {
                String entry = line.strip();
                if (!entry.isEmpty() && !entry.startsWith("#")) {
                    result.add(parse(name + "_FILE", entry, parser));
                }
            }
        }
        return result;
    }

    private static <T> T parse(String variable, String entry, Function<String, T> parser) {
        try {
            return parser.apply(entry);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(variable + ": " + e.getMessage(), e);
        }
    }

    private static String valueOrFile(Env env, String name) {
        String value = env.optional(name);
        String file = env.optional(name + "_FILE");
        if (value != null && file != null) {
            throw new IllegalArgumentException("Set either " + name + " or " + name + "_FILE, not both");
        }
        return file != null ? readFile(name + "_FILE", file).strip() : value;
    }

    private static String readFile(String variable, String file) {
        try {
            return Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(variable + "=" + file + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static List<String> splitList(String value, String separator) {
        if (value == null) {
            return List.of();
        }
        return Arrays.stream(value.split(separator)).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static void requireText(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }
}
