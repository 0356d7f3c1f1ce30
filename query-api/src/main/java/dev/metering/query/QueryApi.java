package dev.metering.query;

import dev.metering.ops.DatabaseTarget;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.RequestIds;
import dev.metering.ops.http.StrictJson;
import dev.metering.ops.ServiceRunner;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Predicate;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The query API service: {@code GET /v1/usage}, {@code GET /v1/usage/current}, {@code /health/live},
 * {@code /health/ready}, {@code /metrics} and {@code /openapi.json}, on one port, reading PostgreSQL through a
 * read-only role. Several instances may run in one JVM.
 */
public final class QueryApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QueryApi.class);
    /** One line per API request (method, path, status, time; never the query string or headers: keys and account ids). */
    private static final Logger ACCESS_LOG = LoggerFactory.getLogger("dev.metering.query.access");
    private static final String OPENAPI_RESOURCE = "/dev/metering/query/openapi.json";
    private static final String ENDPOINT_ATTRIBUTE = "metering.query.endpoint";

    private final QueryApiConfig config;
    private final PrometheusMeterRegistry meterRegistry;
    private final Clock clock;
    private final ObjectMapper json = StrictJson.mapper();
    private HikariDataSource dataSource;
    private Javalin app;

    public QueryApi(QueryApiConfig config) {
        this(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public QueryApi(QueryApiConfig config, PrometheusMeterRegistry meterRegistry) {
        this(config, meterRegistry, Clock.systemUTC());
    }

    /** @param clock what "now" is for {@code /v1/usage/current} */
    public QueryApi(QueryApiConfig config, PrometheusMeterRegistry meterRegistry, Clock clock) {
        this.config = config;
        this.meterRegistry = meterRegistry;
        this.clock = clock;
    }

    /** Connects (refusing a role that could write), then serves; on failure releases what was started and rethrows. */
    public synchronized QueryApi start() {
        if (app != null) {
            throw new IllegalStateException("already started");
        }
        try {
            startServices();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        return this;
    }

    private void startServices() {
        dataSource = dataSource(config, meterRegistry);
        try (Connection connection = dataSource.getConnection()) {
            ReadOnlyRole.verify(connection);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read PostgreSQL at " + DatabaseTarget.redact(config.jdbcUrl()) + ": " + e.getMessage(), e);
        }
        UsageEndpoints endpoints = new UsageEndpoints(config, json, new UsageStore(Jdbi.create(dataSource)), clock);
        byte[] openApi = openApiDocument();

        app = Javalin.create(javalin -> {
            javalin.showJavalinBanner = false;
            javalin.startupWatcherEnabled = false;
            javalin.jetty.defaultHost = config.httpHost();
            javalin.jetty.defaultPort = config.httpPort();
            javalin.requestLogger.http((ctx, millis) -> {
                Object endpoint = ctx.attribute(ENDPOINT_ATTRIBUTE);
                Timer.builder("query.requests")
                        .description("Query API requests by endpoint and status")
                        .tag("endpoint", endpoint == null ? "other" : endpoint.toString())
                        .tag("status", Integer.toString(ctx.statusCode()))
                        .publishPercentiles(0.5, 0.99)
                        .register(meterRegistry)
                        .record(Duration.ofNanos((long) (millis * 1_000_000)));
                if (endpoint != null) {
                    MDC.put(RequestIds.MDC_KEY, RequestIds.of(ctx));
                    ACCESS_LOG.info("{} {} {} {}ms", ctx.method(), ctx.path(), ctx.statusCode(), Math.round(millis));
                    MDC.remove(RequestIds.MDC_KEY);
                }
            });
        });
        app.before(RequestIds::assign);
        app.after(RequestIds::clear);
        app.get(UsageEndpoints.USAGE_PATH, ctx -> {
            ctx.attribute(ENDPOINT_ATTRIBUTE, "usage");
            endpoints.usage(ctx);
        });
        app.get(UsageEndpoints.CURRENT_PATH, ctx -> {
            ctx.attribute(ENDPOINT_ATTRIBUTE, "current");
            endpoints.current(ctx);
        });
        app.get("/health/live", ctx -> ctx.contentType("text/plain").result("live"));
        app.get("/health/ready", ctx -> {
            String notReady = notReadyReason();
            ctx.contentType("text/plain");
            if (notReady == null) {
                ctx.result("ready");
            } else {
                ctx.status(503).result("not ready: " + notReady);
            }
        });
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meterRegistry.scrape()));
        app.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));
        app.exception(ApiException.class, (error, ctx) -> error(ctx, error.kind(), error.getMessage()));
        // No handler answers 404 itself, so every 404 is an unknown route.
        app.error(404, ctx -> {
            if (ctx.attribute(ENDPOINT_ATTRIBUTE) == null) {
                error(ctx, ErrorKind.NOT_FOUND, "no endpoint " + ctx.method() + " " + QueryParams.printable(ctx.path()));
            }
        });
        app.exception(Exception.class, (error, ctx) -> {
            if (isStatementTimeout(error)) {
                error(ctx, ErrorKind.UNAVAILABLE, "the query took longer than " + config.statementTimeout().toMillis() + "ms; ask for a shorter range or fewer groups");
                return;
            }
            if (isDatabaseUnreachable(error)) {
                LOG.warn("PostgreSQL unreachable answering {} {}: {}", ctx.method(), ctx.path(), error.toString());
                error(ctx, ErrorKind.UNAVAILABLE, "the database does not answer; retry later");
                return;
            }
            LOG.error("Unexpected error answering {} {}", ctx.method(), ctx.path(), error);
            error(ctx, ErrorKind.INTERNAL, "internal error");
        });
        app.start();
        LOG.info("Query API listening on {}:{} (PostgreSQL {} as {}; {} keys)", config.httpHost(), port(),
                DatabaseTarget.redact(config.jdbcUrl()), config.databaseUser() == null ? "the URL's user" : config.databaseUser(), config.keys().size());
    }

    private void error(Context ctx, ErrorKind kind, String message) {
        ctx.status(kind.httpStatus()).contentType("application/json");
        try {
            ctx.result(json.writeValueAsBytes(ErrorFormat.NATIVE.render(json, kind, message)));
        } catch (IOException e) {
            ctx.result("{}");
        }
    }

    private static boolean isStatementTimeout(Throwable error) {
        return anyCause(error, cause -> cause instanceof SQLException sql && "57014".equals(sql.getSQLState()));
    }

    /** No connection to be had, or the one in use broke (SQL state class 08: connection exception). */
    private static boolean isDatabaseUnreachable(Throwable error) {
        return anyCause(error, cause -> cause instanceof SQLTransientConnectionException
                || cause instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("08"));
    }

    private static boolean anyCause(Throwable error, Predicate<Throwable> test) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (test.test(cause)) {
                return true;
            }
        }
        return false;
    }

    private String notReadyReason() {
        try (Connection connection = dataSource.getConnection()) {
            return connection.isValid(2) ? null : "PostgreSQL does not answer";
        } catch (SQLException e) {
            return "PostgreSQL unreachable: " + e.getMessage();
        }
    }

    static HikariDataSource dataSource(QueryApiConfig config, PrometheusMeterRegistry meterRegistry) {
        HikariConfig hikari = new HikariConfig();
        hikari.setPoolName("query-api");
        hikari.setJdbcUrl(config.jdbcUrl());
        if (config.databaseUser() != null) {
            hikari.setUsername(config.databaseUser());
        }
        if (config.databasePassword() != null) {
            hikari.setPassword(config.databasePassword());
        }
        hikari.setMaximumPoolSize(config.databasePoolSize());
        hikari.setMinimumIdle(Math.min(2, config.databasePoolSize()));
        hikari.setConnectionTimeout(5_000);
        hikari.setInitializationFailTimeout(-1); // the start check below reports an unreachable database with its reason
        // Read-only transactions as a second guard behind the role; a bound on each statement's time.
        hikari.setReadOnly(true);
        hikari.setConnectionInitSql("SET statement_timeout = " + config.statementTimeout().toMillis());
        // The statement timeout only binds a server that answers. One that stopped answering (a host gone, a network
        // partition) would hold a request and its connection forever: a connection silent for longer is broken.
        hikari.addDataSourceProperty("socketTimeout", String.valueOf(socketTimeout(config).toSeconds()));
        hikari.addDataSourceProperty("tcpKeepAlive", "true");
        hikari.setMetricRegistry(meterRegistry);
        return new HikariDataSource(hikari);
    }

    /** How long a statement may wait for the server: its statement timeout and 5 s more for the answer, whole seconds (pgjdbc's unit). */
    static Duration socketTimeout(QueryApiConfig config) {
        return Duration.ofSeconds(config.statementTimeout().plusSeconds(5).plusMillis(999).toSeconds());
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        if (app == null) {
            throw new IllegalStateException("not started");
        }
        return app.port();
    }

    public PrometheusMeterRegistry meterRegistry() {
        return meterRegistry;
    }

    @Override
    public synchronized void close() {
        if (app != null) {
            app.stop();
            app = null;
        }
        if (dataSource != null) {
            dataSource.close();
            dataSource = null;
        }
    }

    private static byte[] openApiDocument() {
        try (InputStream in = QueryApi.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("OpenAPI document " + OPENAPI_RESOURCE + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void main(String[] args) {
        ServiceRunner.run("query-api", QueryApiConfig::fromEnv, QueryApi::new, QueryApi::start);
    }
}
