package dev.metering.query;

import dev.metering.ops.DatabaseTarget;
import dev.metering.ops.Env;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Configuration of the query API, from the variables documented in {@code query-api/README.md}.
 *
 * @param databaseUser     null: from the URL (or the driver's default); must be a read-only role (see README)
 * @param maxRange         the longest {@code to - from} a request may ask for
 * @param maxFilterValues  how many values one filter ({@code billing_account_id}, {@code feature_code}) may list
 */
public record QueryApiConfig(
        String httpHost,
        int httpPort,
        String jdbcUrl,
        String databaseUser,
        String databasePassword,
        int databasePoolSize,
        Duration statementTimeout,
        Duration maxRange,
        int maxFilterValues,
        int defaultPageSize,
        int maxPageSize,
        List<QueryKey> keys) {

    public static final int DEFAULT_PORT = 7403;

    public QueryApiConfig {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        if (httpHost == null || httpHost.isBlank()) {
            throw new IllegalArgumentException("QUERY_HTTP_HOST must not be empty");
        }
        if (httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("QUERY_HTTP_PORT=" + httpPort + " is not a port (0-65535, 0 = any free port)");
        }
        if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("DATABASE_URL must be a jdbc:postgresql: URL, got " + DatabaseTarget.redact(jdbcUrl));
        }
        if (databasePoolSize < 1) {
            throw new IllegalArgumentException("QUERY_DB_POOL_SIZE=" + databasePoolSize + " must be greater than 0");
        }
        if (statementTimeout.toMillis() < 100) {
            throw new IllegalArgumentException("QUERY_STATEMENT_TIMEOUT=" + statementTimeout + " must be at least 100ms");
        }
        if (maxRange.compareTo(Duration.ofHours(1)) < 0) {
            throw new IllegalArgumentException("QUERY_MAX_RANGE=" + maxRange + " must be at least 1h");
        }
        if (maxFilterValues < 1) {
            throw new IllegalArgumentException("QUERY_MAX_FILTER_VALUES=" + maxFilterValues + " must be greater than 0");
        }
        if (maxPageSize < 1 || defaultPageSize < 1 || defaultPageSize > maxPageSize) {
            throw new IllegalArgumentException("QUERY_PAGE_SIZE (" + defaultPageSize + ") must be between 1 and QUERY_MAX_PAGE_SIZE (" + maxPageSize + ")");
        }
        keys = List.copyOf(keys);
        if (keys.stream().map(QueryKey::name).distinct().count() != keys.size()) {
            throw new IllegalArgumentException("QUERY_API_KEYS names a key more than once");
        }
        if (keys.stream().map(QueryKey::key).distinct().count() != keys.size()) {
            throw new IllegalArgumentException("QUERY_API_KEYS holds the same key under two names");
        }
    }

    public static QueryApiConfig fromEnv(Env env) {
        DatabaseTarget database = DatabaseTarget.parse(env.required("DATABASE_URL"), "DATABASE_URL");
        return new QueryApiConfig(
                env.string("QUERY_HTTP_HOST", "0.0.0.0"),
                env.integer("QUERY_HTTP_PORT", DEFAULT_PORT),
                database.url(),
                env.string("DATABASE_USER", database.user()),
                env.string("DATABASE_PASSWORD", database.password()),
                env.positiveInteger("QUERY_DB_POOL_SIZE", 8),
                env.duration("QUERY_STATEMENT_TIMEOUT", Duration.ofSeconds(10)),
                env.duration("QUERY_MAX_RANGE", Duration.ofDays(400)),
                env.positiveInteger("QUERY_MAX_FILTER_VALUES", 100),
                env.positiveInteger("QUERY_PAGE_SIZE", 1000),
                env.positiveInteger("QUERY_MAX_PAGE_SIZE", 10_000),
                keys(env));
    }

    /** The defaults of {@link #fromEnv} for in-process use (standalone, bench, tests): a database, its read-only role, the keys. */
    public static QueryApiConfig defaults(String jdbcUrl, String databaseUser, String databasePassword, List<QueryKey> keys) {
        Map<String, String> variables = new HashMap<>();
        variables.put("DATABASE_URL", jdbcUrl);
        if (databaseUser != null) {
            variables.put("DATABASE_USER", databaseUser);
        }
        if (databasePassword != null) {
            variables.put("DATABASE_PASSWORD", databasePassword);
        }
        QueryApiConfig config = fromEnv(new Env(variables));
        return new QueryApiConfig(config.httpHost, config.httpPort, config.jdbcUrl, config.databaseUser, config.databasePassword,
                config.databasePoolSize, config.statementTimeout, config.maxRange, config.maxFilterValues, config.defaultPageSize,
                config.maxPageSize, keys);
    }

    public QueryApiConfig withHttp(String host, int port) {
        return new QueryApiConfig(host, port, jdbcUrl, databaseUser, databasePassword, databasePoolSize, statementTimeout, maxRange,
                maxFilterValues, defaultPageSize, maxPageSize, keys);
    }

    public QueryApiConfig withPageSizes(int defaultSize, int maxSize) {
        return new QueryApiConfig(httpHost, httpPort, jdbcUrl, databaseUser, databasePassword, databasePoolSize, statementTimeout, maxRange,
                maxFilterValues, defaultSize, maxSize, keys);
    }

    /** Entries from QUERY_API_KEYS (comma-separated) and the file QUERY_API_KEYS_FILE names (one a line, # comments). */
    private static List<QueryKey> keys(Env env) {
        List<QueryKey> result = new ArrayList<>();
        String inline = env.optional("QUERY_API_KEYS");
        if (inline != null) {
            for (String entry : inline.split(",")) {
                if (!entry.isBlank()) {
                    result.add(parse("QUERY_API_KEYS", entry));
                }
            }
        }
        String file = env.optional("QUERY_API_KEYS_FILE");
        if (file != null) {
            String text;
            try {
                text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("QUERY_API_KEYS_FILE=" + file + " cannot be read: " + e.getMessage(), e);
            }
            for (String line : text.split("\\R")) {
                String entry = line.strip();
                if (!entry.isEmpty() && !entry.startsWith("#")) {
                    result.add(parse("QUERY_API_KEYS_FILE", entry));
                }
            }
        }
        return result;
    }

    private static QueryKey parse(String variable, String entry) {
        try {
            return QueryKey.parse(entry);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(variable + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "QueryApiConfig[http=" + httpHost + ":" + httpPort + ", database=" + DatabaseTarget.redact(jdbcUrl) + ", user=" + databaseUser
                + ", pool=" + databasePoolSize + ", maxRange=" + maxRange + ", keys=" + keys.size() + "]";
    }
}
