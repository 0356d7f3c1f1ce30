package dev.metering.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.store.Migrations;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * A database that stops answering without closing its connections (a host gone, a network partition) must not hold
 * the query API's requests forever: they get a 503 in the API's error shape within the statement timeout and a few
 * seconds, and once the database answers again so do the requests.
 */
class SilentDatabaseIT {
    private static final String KEY = "key-silent-db";
    private static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(1);

    @Test
    void requestsGetA503WhenTheDatabaseStopsAnsweringAndRecoverAfter() throws Exception {
        try (PostgresDatabase database = PostgresDatabase.forTests()) {
            Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
            String role = "query_silent_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
            String password = "pw-" + UUID.randomUUID();
            ReadOnlyRole.createLoginRole(database.dataSource(), role, password);
            URI server = URI.create(database.jdbcUrl().substring("jdbc:".length()));
            try (SilenceableProxy proxy = new SilenceableProxy(server.getHost(), server.getPort())) {
                String throughProxy = "jdbc:postgresql://127.0.0.1:" + proxy.port() + server.getRawPath();
                // One connection, so the request after the silence takes the one just used, without the pool's liveness check.
                QueryApiConfig defaults = QueryApiConfig.defaults(throughProxy, role, password, List.of(QueryKey.parse("all:" + KEY + ":org-a")));
                QueryApiConfig config = new QueryApiConfig("127.0.0.1", 0, defaults.jdbcUrl(), role, password, 1, STATEMENT_TIMEOUT,
                        defaults.maxRange(), defaults.maxFilterValues(), defaults.defaultPageSize(), defaults.maxPageSize(), defaults.keys());
                QueryApi api = new QueryApi(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), Clock.systemUTC()).start();
                try {
                    assertThat(current(api).statusCode()).as("answers through the proxy").isEqualTo(200);

                    proxy.silence();
                    long start = System.nanoTime();
                    HttpResponse<String> silent = current(api);
                    double seconds = (System.nanoTime() - start) / 1e9;
                    assertThat(silent.statusCode()).as("the database does not answer: %s", silent.body()).isEqualTo(503);
                    JsonNode error = new ObjectMapper().readTree(silent.body());
                    assertThat(error.path("code").asText()).isEqualTo("UNAVAILABLE");
                    assertThat(error.path("message").asText()).isEqualTo("the database does not answer; retry later");
                    assertThat(seconds).as("within the socket timeout (statement timeout + 5 s), not forever")
                            .isLessThan(QueryApi.socketTimeout(config).toSeconds() + 5.0);

                    proxy.speak();
                    Awaitility.await("answers once the database does").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                            .until(() -> current(api).statusCode() == 200);
                } finally {
                    api.close();
                }
            }
        }
    }

    private static HttpResponse<String> current(QueryApi api) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/v1/usage/current?billing_account_id=acct-1"))
                .header("X-Api-Key", KEY).timeout(Duration.ofSeconds(60)).GET().build();
        return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A TCP proxy to PostgreSQL that can fall silent: it keeps every connection open and reads what arrives, but
     * forwards nothing in either direction, as a network that drops packets would. New connections are accepted and
     * silenced alike.
     */
    private static final class SilenceableProxy implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket();
        private final String host;
        private final int port;
        private volatile boolean silent;

        SilenceableProxy(String host, int port) throws IOException {
            this.host = host;
            this.port = port;
            listener.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread acceptor = new Thread(this::accept, "silenceable-proxy");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        void silence() {
            silent = true;
        }

        void speak() {
            silent = false;
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Socket upstream = new Socket(host, port);
                    pump(client, upstream);
                    pump(upstream, client);
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        /** Copies from one side to the other while not silent; while silent, what arrives is read and dropped. */
        private void pump(Socket from, Socket to) {
            Thread thread = new Thread(() -> {
                byte[] buffer = new byte[8192];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    int read;
                    while ((read = in.read(buffer)) >= 0) {
                        if (!silent) {
                            out.write(buffer, 0, read);
                            out.flush();
                        }
                    }
                } catch (IOException e) {
                    // one side closed: so does the other
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }, "silenceable-proxy-pump");
            thread.setDaemon(true);
            thread.start();
        }

        private static void closeQuietly(Socket socket) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already closed
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }
    }
}
