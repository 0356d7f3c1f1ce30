package dev.metering.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.auth.KindeTokenVerifier;
import dev.metering.ingest.batch.BatchEventsEndpoint;
import dev.metering.ingest.frontier.FrontierRevertEndpoint;
import dev.metering.ingest.frontier.FrontierUsageEndpoint;
import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ingest.http.IngestMetrics;
import dev.metering.ingest.http.JettyErrors;
import dev.metering.ingest.http.RateLimiter;
import dev.metering.ops.http.RequestIds;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.http.Errors;
import dev.metering.ingest.publish.Backend;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ingest.publish.VerdictSource;
import dev.metering.ingest.revert.DuplicateCheck;
import dev.metering.ingest.revert.RevertEndpoint;
import dev.metering.ingest.revert.RevertService;
import dev.metering.ingest.kinde.KindeMeterUsageEndpoint;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.rules.EventRules;
import dev.metering.ops.ServiceRunner;
import dev.metering.ops.http.StrictJson;
import io.javalin.Javalin;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The ingest API service: Frontier-compatible, Kinde-compatible and native batch usage endpoints, plus
 * {@code /health/live}, {@code /health/ready}, {@code /metrics} and {@code /openapi.json}, on one port.
 * Several instances may run in one JVM.
 */
public final class IngestApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IngestApi.class);
    /** One line per API request (method, path, status, time; never headers or bodies, which hold secrets). */
    private static final Logger ACCESS_LOG = LoggerFactory.getLogger("dev.metering.ingest.access");
    private static final String OPENAPI_RESOURCE = "/dev/metering/ingest/openapi.json";

    private final IngestApiConfig config;
    private final PrometheusMeterRegistry meterRegistry;
    private final ObjectMapper json;
    private final Clock clock;
    private final Backend backend;
    private EventPublisher publisher;
    private VerdictSource verdicts;
    private RevertService reverts;
    private DuplicateCheck duplicateCheck;
    private Javalin app;

    public IngestApi(IngestApiConfig config) {
        this(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public IngestApi(IngestApiConfig config, PrometheusMeterRegistry meterRegistry) {
        this(config, meterRegistry, Clock.systemUTC());
    }

    IngestApi(IngestApiConfig config, PrometheusMeterRegistry meterRegistry, Clock clock) {
        this(config, meterRegistry, clock, Backend.kafka(config));
    }

    /**
     * An API publishing to and reading verdicts from {@code backend} (Kafka: {@link Backend#kafka}); its publisher and
     * verdict source are created by {@link #start} and closed by {@link #close}. The config's Kafka and registry
     * settings are then used only by {@code backend}.
     */
    public IngestApi(IngestApiConfig config, PrometheusMeterRegistry meterRegistry, Clock clock, Backend backend) {
        this.config = config;
        this.meterRegistry = meterRegistry;
        this.clock = clock;
        this.backend = backend;
        this.json = StrictJson.mapper();
    }

    /** Starts the HTTP server and the Kafka clients; on failure releases what was started and rethrows. */
    public synchronized IngestApi start() {
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
        IngestMetrics metrics = new IngestMetrics(meterRegistry);
        KindeTokenVerifier kindeVerifier = new KindeTokenVerifier(config.kinde());
        publisher = backend.publisher(metrics::produceError);
        Gauge.builder("ingest.kafka.pending.requests", publisher::pendingRequests)
                .description("Requests waiting for Kafka to acknowledge their events")
                .register(meterRegistry);
        long retryAfter = Math.max(1, Math.min(30, config.deliveryTimeout().toSeconds() / 2));
        RequestRules requestRules = new RequestRules(new EventRules(config.gracePeriod(), config.maxFutureSkew()), clock);
        verdicts = backend.verdicts();
        Gauge.builder("ingest.verdicts.awaited", verdicts::waiting)
                .description("Event identities waiting for the aggregator's verdict (reverts, duplicate checks)")
                .register(meterRegistry);
        reverts = new RevertService(publisher, verdicts, requestRules, config.verdictTimeout(), config.deliveryTimeout(), retryAfter);
        duplicateCheck = new DuplicateCheck(publisher, verdicts, config.duplicateCheckWait(), config.deliveryTimeout());
        Errors errors = new Errors(json, config.deliveryTimeout().toMillis() + "ms", retryAfter);
        UsageEndpoint.Http http = new UsageEndpoint.Http(json, new RateLimiter(config.rateLimitPerSecond(), config.rateLimitBurst()), metrics,
                config.maxBodyBytes(), errors);
        byte[] openApi = openApiDocument();

        app = Javalin.create(javalin -> {
            javalin.showJavalinBanner = false;
            javalin.startupWatcherEnabled = false;
            javalin.http.maxRequestSize = config.maxBodyBytes();
            javalin.jetty.defaultHost = config.httpHost();
            javalin.jetty.defaultPort = config.httpPort();
            javalin.jetty.modifyServer(server -> server.setErrorHandler(new JettyErrors(json)));
            javalin.requestLogger.http((ctx, millis) -> {
                Object api = ctx.attribute(UsageEndpoint.API_ATTRIBUTE);
                metrics.request(api == null ? "other" : api.toString(), ctx.statusCode(), Duration.ofNanos((long) (millis * 1_000_000)));
                if (api != null) {
                    MDC.put(RequestIds.MDC_KEY, RequestIds.of(ctx)); // may run on the thread that completed the response
                    ACCESS_LOG.info("{} {} {} {}ms", ctx.method(), ctx.path(), ctx.statusCode(), Math.round(millis));
                    MDC.remove(RequestIds.MDC_KEY);
                }
            });
        });
        app.before(RequestIds::assign);
        app.after(RequestIds::clear);
        BasicAuthenticator frontierUsers = new BasicAuthenticator(config.frontierCredentials());
        // the body form first: Javalin runs the first route that matches, and only the wildcards could overlap
        for (FrontierUsageEndpoint.Form form : new FrontierUsageEndpoint.Form[] {
                FrontierUsageEndpoint.Form.BODY_FORM, FrontierUsageEndpoint.Form.PATH_FORM, FrontierUsageEndpoint.Form.CONNECT}) {
            // the body form first: Javalin runs the first route that matches, and only the wildcards could overlap
            // (the body form's literal path never matches the revert wildcards: other segments)
            app.post(switch (form) {
                case BODY_FORM -> FrontierUsageEndpoint.BODY_PATH;
                case PATH_FORM -> FrontierUsageEndpoint.ROUTE;
                case CONNECT -> FrontierUsageEndpoint.CONNECT_PATH;
            }, new FrontierUsageEndpoint(form, http, requestRules, duplicateCheck, frontierUsers));
            app.post(switch (form) {
                case BODY_FORM -> FrontierRevertEndpoint.BODY_PATH;
                case PATH_FORM -> FrontierRevertEndpoint.ROUTE;
                case CONNECT -> FrontierRevertEndpoint.CONNECT_PATH;
            }, new FrontierRevertEndpoint(form, http, requestRules, reverts, frontierUsers));
        }
        ApiKeyAuthenticator apiKeys = new ApiKeyAuthenticator(config.apiKeys());
        app.post(KindeMeterUsageEndpoint.PATH, new KindeMeterUsageEndpoint(http, requestRules, publisher, kindeVerifier));
        app.post(BatchEventsEndpoint.PATH, new BatchEventsEndpoint(http, requestRules, publisher, apiKeys));
        app.post(RevertEndpoint.PATH, new RevertEndpoint(http, requestRules, reverts, apiKeys));
        app.get("/health/live", ctx -> ctx.contentType("text/plain").result("live"));
        app.get("/health/ready", ctx -> {
            String notReady = publisher.notReadyReason();
            ctx.contentType("text/plain");
            if (notReady == null) {
                ctx.result("ready");
            } else {
                ctx.status(503).result("not ready: " + notReady);
            }
        });
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meterRegistry.scrape()));
        app.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));
        // No handler answers 404 itself, so every 404 is an unknown route: answer it in the shape of the API the path belongs to.
        app.error(404, ctx -> errors.respond(ctx, ErrorFormat.forPath(ctx.path()),
                new ApiException(ErrorKind.NOT_FOUND, "no endpoint " + ctx.method() + " " + ctx.path()), null));
        app.exception(Exception.class, (error, ctx) -> errors.respond(ctx, ErrorFormat.forPath(ctx.path()), error, null));
        app.start();
        LOG.info("Ingest API listening on {}:{} (Kafka {}, schema registry {}; {} Frontier users, Kinde tokens {}, {} API keys)",
                config.httpHost(), port(), config.kafkaBootstrapServers(), config.schemaRegistryUrl(),
                config.frontierCredentials().size(), config.kinde().enabled() ? "verified" : "not configured", config.apiKeys().size());
    }

    /** The port actually bound (useful with port 0). */
    /** The routes this API serves, as "METHOD path" (path parameters as Javalin writes them), for the document check. */
    public java.util.List<String> routes() {
        return app.unsafeConfig().pvt.internalRouter.allHttpHandlers().stream()
                .filter(route -> route.getEndpoint().getMethod().isHttpMethod()) // not the before/after filters
                .map(route -> route.getEndpoint().getMethod().name() + " " + route.getEndpoint().getPath())
                .toList();
    }

    public int port() {
        if (app == null) {
            throw new IllegalStateException("not started");
        }
        return app.port();
    }

    /** Reverts answered with the aggregator's verdict (for the Frontier routes); available once started. */
    public RevertService reverts() {
        return reverts;
    }

    /** Best-effort "applied before?" for usages (Frontier's 409); available once started. */
    public DuplicateCheck duplicateCheck() {
        return duplicateCheck;
    }

    /** The verdict reader (tests wait until it reads); available once started. */
    public VerdictSource verdicts() {
        return verdicts;
    }

    public PrometheusMeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /**
     * Closes the publisher first: it flushes, so every request in flight gets its real answer while the HTTP server
     * is still up (requests arriving meanwhile get 503). Then stops the HTTP server and the verdict reader.
     */
    @Override
    public synchronized void close() {
        if (publisher != null) {
            publisher.close();
            publisher = null;
        }
        if (app != null) {
            app.stop();
            app = null;
        }
        if (verdicts != null) {
            verdicts.close();
            verdicts = null;
        }
    }

    private static byte[] openApiDocument() {
        try (InputStream in = IngestApi.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("OpenAPI document " + OPENAPI_RESOURCE + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void main(String[] args) {
        ServiceRunner.run("ingest-api", IngestApiConfig::fromEnv, IngestApi::new, IngestApi::start);
    }
}
