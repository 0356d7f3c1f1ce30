package dev.metering.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.metering.avro.UsageEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Runs the client against a small HTTP server that answers the two Schema Registry REST calls the way
 * the API reference documents them (request/response bodies, content type, error_code bodies).
 */
class HttpSchemaRegistryClientTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private HttpServer server;
    private final Map<Integer, String> schemas = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger nextId = new AtomicInteger(100);
    private String url;

    @BeforeEach
    void startRegistry() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopRegistry() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        requests.add(exchange.getRequestMethod() + " " + path + " " + exchange.getRequestHeaders().getFirst("Authorization"));
        if ("POST".equals(exchange.getRequestMethod()) && path.matches("/subjects/[^/]+/versions")) {
            if (!"application/vnd.schemaregistry.v1+json".equals(exchange.getRequestHeaders().getFirst("Content-Type"))) {
                reply(exchange, 415, "{\"error_code\":415,\"message\":\"Unsupported Media Type\"}");
                return;
            }
            JsonNode body = JSON.readTree(exchange.getRequestBody());
            String schema = body.path("schema").asText();
            new Schema.Parser().parse(schema); // a real registry rejects unparseable schemas
            int id = schemas.entrySet().stream().filter(e -> e.getValue().equals(schema)).map(Map.Entry::getKey)
                    .findFirst().orElseGet(() -> {
                        int assigned = nextId.getAndIncrement();
                        schemas.put(assigned, schema);
                        return assigned;
                    });
            reply(exchange, 200, "{\"id\":" + id + "}");
        } else if ("GET".equals(exchange.getRequestMethod()) && path.startsWith("/schemas/ids/")) {
            String schema = schemas.get(Integer.parseInt(path.substring("/schemas/ids/".length())));
            if (schema == null) {
                reply(exchange, 404, "{\"error_code\":40403,\"message\":\"Schema not found\"}");
            } else {
                reply(exchange, 200, JSON.writeValueAsString(Map.of("schema", schema)));
            }
        } else {
            reply(exchange, 404, "{\"error_code\":404,\"message\":\"HTTP 404 Not Found\"}");
        }
    }

    private static void reply(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/vnd.schemaregistry.v1+json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    @Test
    void registersOnceAndFetchesByIdWithCaching() {
        HttpSchemaRegistryClient client = new HttpSchemaRegistryClient(url);
        int id = client.register("usage-events-value", UsageEvent.getClassSchema());
        assertThat(client.register("usage-events-value", UsageEvent.getClassSchema())).isEqualTo(id);
        assertThat(requests).hasSize(1).first().asString().startsWith("POST /subjects/usage-events-value/versions");

        HttpSchemaRegistryClient reader = new HttpSchemaRegistryClient(url);
        assertThat(reader.schemaById(id)).isEqualTo(UsageEvent.getClassSchema());
        assertThat(reader.schemaById(id)).isEqualTo(UsageEvent.getClassSchema());
        assertThat(requests).hasSize(2).last().asString().startsWith("GET /schemas/ids/" + id);
    }

    @Test
    void reportsTheRegistryErrorCode() {
        HttpSchemaRegistryClient client = new HttpSchemaRegistryClient(url);
        assertThatThrownBy(() -> client.schemaById(999))
                .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
                    assertThat(e.status()).isEqualTo(404);
                    assertThat(e.errorCode()).isEqualTo(40403);
                })
                .hasMessageContaining("Schema not found");
    }

    @Test
    void sendsUrlCredentialsAsBasicAuthAndFallsBackToTheNextUrl() {
        String withCredentials = "http://127.0.0.1:1," + url.replace("http://", "http://user:secret@");
        HttpSchemaRegistryClient client = new HttpSchemaRegistryClient(withCredentials);
        client.register("s", UsageEvent.getClassSchema());
        assertThat(requests).singleElement().asString().endsWith("Basic dXNlcjpzZWNyZXQ=");
    }

    @Test
    void unreachableRegistryIsAClearError() {
        HttpSchemaRegistryClient client = new HttpSchemaRegistryClient("http://127.0.0.1:1");
        assertThatThrownBy(() -> client.schemaById(1)).isInstanceOf(SchemaRegistryException.class).hasMessageContaining("unreachable");
    }
}
