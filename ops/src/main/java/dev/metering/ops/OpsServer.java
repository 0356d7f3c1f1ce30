package dev.metering.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The operations endpoints of a service without an HTTP API of its own (aggregator, sink):
 * {@code GET /health/live}, {@code GET /health/ready} (200 or 503 with the reason) and
 * {@code GET /metrics} (Prometheus text format).
 */
public final class OpsServer implements AutoCloseable {
    private final HttpServer server;

    /**
     * @param readiness answers null when ready, otherwise why not (shown in the 503 body)
     */
    public OpsServer(String host, int port, PrometheusMeterRegistry metrics, Supplier<String> readiness) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 0);
        server.setExecutor(Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "ops-http");
            thread.setDaemon(true);
            return thread;
        }));
        server.createContext("/health/live", exchange -> respond(exchange, 200, "text/plain", "live"));
        server.createContext("/health/ready", exchange -> {
            String notReady = readiness.get();
            if (notReady == null) {
                respond(exchange, 200, "text/plain", "ready");
            } else {
                respond(exchange, 503, "text/plain", "not ready: " + notReady);
            }
        });
        server.createContext("/metrics", exchange ->
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.start();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        try (exchange) {
            if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", contentType);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
