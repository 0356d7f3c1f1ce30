package dev.metering.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.store.Migrations;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * One PostgreSQL database with the sink's migrations, a read-only login role, and one query API in front of it.
 * Tests write hour rows straight into usage_rollups, as the sink would.
 */
final class QueryFixture implements AutoCloseable {
    static final String KEY_ALL = "key-all-of-org-a";
    static final String KEY_LIMITED = "key-acct-1-and-2";
    static final String KEY_ORG_B = "key-org-b";
    static final String KEY_DEFAULT = "key-default-tenant";
    static final List<QueryKey> KEYS = List.of(
            QueryKey.parse("all:" + KEY_ALL + ":org-a"),
            QueryKey.parse("limited:" + KEY_LIMITED + ":org-a:acct-1|acct-2"),
            QueryKey.parse("b:" + KEY_ORG_B + ":org-b"),
            QueryKey.parse("default:" + KEY_DEFAULT + ":default"));

    final PostgresDatabase database;
    final String role = "query_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    final String rolePassword = "pw-" + UUID.randomUUID();
    final QueryApi api;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final ObjectMapper json = new ObjectMapper();

    QueryFixture(Clock clock, int defaultPageSize) {
        database = PostgresDatabase.forTests();
        Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
        ReadOnlyRole.createLoginRole(database.dataSource(), role, rolePassword);
        QueryApiConfig config = QueryApiConfig.defaults(urlWithoutCredentials(), role, rolePassword, KEYS)
                .withHttp("127.0.0.1", 0).withPageSizes(defaultPageSize, 10_000);
        api = new QueryApi(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), clock).start();
    }

    /** The test database's URL without user and password parameters (they would override the read-only role's). */
    String urlWithoutCredentials() {
        return database.jdbcUrl().replaceAll("(?i)([?&])(user|password)=[^&]*", "$1").replaceAll("[?&]+$", "").replace("?&", "?").replace("&&", "&");
    }

    /** An hour as the sink stores it. {@code absoluteAt} null: the hour has no ABSOLUTE. */
    record Hour(String org, String account, String feature, Instant start, long events, String quantitySum, String billable,
                Instant absoluteAt, String latestValue, String latestType, String min, String max) {
        static Hour delta(String org, String account, String feature, Instant start, String sum) {
            return new Hour(org, account, feature, start, 1, sum, sum, null, sum, "DELTA", sum, sum);
        }

        static Hour absolute(String org, String account, String feature, Instant start, String value) {
            return new Hour(org, account, feature, start, 1, "0", value, start.plusSeconds(60), value, "ABSOLUTE", value, value);
        }
    }

    void insert(List<Hour> hours) {
        String sql = """
                INSERT INTO usage_rollups (org_id, billing_account_id, feature_code, window_size, window_start, window_end, event_count,
                    quantity_sum, billable_quantity, latest_absolute_event_time, latest_absolute_event_id, latest_value, latest_value_type,
                    latest_event_time, latest_event_id, min_value, max_value, first_event_time, last_event_time, updated_at)
                VALUES (?, ?, ?, 'HOUR', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())
                """;
        try (Connection connection = database.dataSource().getConnection(); PreparedStatement insert = connection.prepareStatement(sql)) {
            for (Hour hour : hours) {
                Timestamp start = Timestamp.from(hour.start());
                Timestamp latest = Timestamp.from(hour.start().plusSeconds(3000));
                insert.setString(1, hour.org());
                insert.setString(2, hour.account());
                insert.setString(3, hour.feature());
                insert.setTimestamp(4, start);
                insert.setTimestamp(5, Timestamp.from(hour.start().plusSeconds(3600)));
                insert.setLong(6, hour.events());
                insert.setBigDecimal(7, new BigDecimal(hour.quantitySum()));
                insert.setBigDecimal(8, new BigDecimal(hour.billable()));
                insert.setTimestamp(9, hour.absoluteAt() == null ? null : Timestamp.from(hour.absoluteAt()));
                insert.setString(10, hour.absoluteAt() == null ? null : "abs-" + hour.start());
                insert.setBigDecimal(11, new BigDecimal(hour.latestValue()));
                insert.setString(12, hour.latestType());
                insert.setTimestamp(13, latest);
                insert.setString(14, "e-" + hour.start());
                insert.setBigDecimal(15, new BigDecimal(hour.min()));
                insert.setBigDecimal(16, new BigDecimal(hour.max()));
                insert.setTimestamp(17, Timestamp.from(hour.start().plusSeconds(60)));
                insert.setTimestamp(18, latest);
                insert.addBatch();
            }
            insert.executeBatch();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    void execute(String sql) {
        try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    record Response(int status, String contentType, String body, HttpResponse<String> raw) {
        JsonNode json() {
            try {
                return new ObjectMapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    /** GET with the key (null: none); {@code pathAndQuery} must already be percent-encoded. */
    Response get(String key, String pathAndQuery, String... headers) {
        try {
            URI.create("http://127.0.0.1" + pathAndQuery);
        } catch (IllegalArgumentException e) {
            return raw(key, pathAndQuery); // what HttpClient refuses to send (bad percent-escapes), a client may still send
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(30)).GET();
        if (key != null) {
            request.header("X-Api-Key", key);
        }
        if (headers.length > 0) {
            request.headers(headers);
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.headers().firstValue("Content-Type").orElse(""), response.body(), response);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A request written byte by byte on a socket, for request lines no well-behaved client library produces. */
    Response raw(String key, String pathAndQuery) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", api.port())) {
            socket.setSoTimeout(30_000);
            String request = "GET " + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + (key == null ? "" : "X-Api-Key: " + key + "\r\n") + "\r\n";
            socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int headerEnd = response.indexOf("\r\n\r\n");
            String head = response.substring(0, headerEnd);
            String body = response.substring(headerEnd + 4);
            int status = Integer.parseInt(head.split(" ")[1]);
            String contentType = "";
            boolean chunked = false;
            for (String line : head.split("\r\n")) {
                String lower = line.toLowerCase(java.util.Locale.ROOT);
                if (lower.startsWith("content-type:")) {
                    contentType = line.substring(13).strip();
                }
                chunked |= lower.startsWith("transfer-encoding:") && lower.contains("chunked");
            }
            if (chunked) {
                StringBuilder joined = new StringBuilder();
                int at = 0;
                while (true) {
                    int lineEnd = body.indexOf("\r\n", at);
                    int size = Integer.parseInt(body.substring(at, lineEnd).strip(), 16);
                    if (size == 0) {
                        break;
                    }
                    joined.append(body, lineEnd + 2, lineEnd + 2 + size);
                    at = lineEnd + 2 + size + 2;
                }
                body = joined.toString();
            }
            return new Response(status, contentType, body, null);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        api.close();
        database.close();
        if (!database.isEmbedded()) {
            try (Connection connection = java.sql.DriverManager.getConnection(database.adminUrl()); Statement statement = connection.createStatement()) {
                statement.execute("DROP ROLE IF EXISTS " + role);
            } catch (SQLException e) {
                // a role left behind on a shared test server is harmless (it can log in to dropped databases only)
            }
        }
    }
}
