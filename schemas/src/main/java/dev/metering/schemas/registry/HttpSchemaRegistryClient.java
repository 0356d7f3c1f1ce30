package dev.metering.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * A client of the Confluent Schema Registry REST API (v1): {@code POST /subjects/{subject}/versions}
 * to register and {@code GET /schemas/ids/{id}} to fetch. Both answers are cached for the life of the
 * client, since ids and schemas never change once assigned. Credentials in the URL
 * ({@code https://user:secret@host}) are sent as HTTP Basic auth.
 */
public final class HttpSchemaRegistryClient implements SchemaRegistryClient {
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<URI> baseUris;
    private final String authorization;
    private final HttpClient http;
    private final Duration timeout;
    private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

    public HttpSchemaRegistryClient(String urls) {
        this(urls, Duration.ofSeconds(10));
    }

    public HttpSchemaRegistryClient(String urls, Duration timeout) {
        List<URI> uris = new ArrayList<>();
        String userInfo = null;
        for (String url : urls.split(",")) {
            URI uri = URI.create(url.strip().replaceAll("/+$", ""));
            if (uri.getUserInfo() != null) {
                userInfo = uri.getUserInfo();
                uri = URI.create(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort()) + uri.getRawPath());
            }
            uris.add(uri);
        }
        this.baseUris = List.copyOf(uris);
        this.authorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    @Override
    public int register(String subject, Schema schema) {
        Map<Schema, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer cached = ids.get(schema);
        if (cached != null) {
            return cached;
        }
        String body;
        try {
            body = JSON.writeValueAsString(Map.of("schema", schema.toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        String path = "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20") + "/versions";
        JsonNode answer = call("POST", path, body);
        int id = answer.path("id").asInt(-1);
        if (id < 0) {
            throw new SchemaRegistryException("Schema registry answered register of subject " + subject + " without an id: " + answer, 200, -1, null);
        }
        ids.put(schema, id);
        schemasById.putIfAbsent(id, schema);
        return id;
    }

    @Override
    public Schema schemaById(int id) {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = call("GET", "/schemas/ids/" + id, null);
        String schemaType = answer.path("schemaType").asText("AVRO");
        if (!"AVRO".equals(schemaType)) {
            throw new SchemaRegistryException("Schema " + id + " is of type " + schemaType + ", not AVRO", 200, -1, null);
        }
        Schema schema = new Schema.Parser().parse(answer.path("schema").asText());
        schemasById.putIfAbsent(id, schema);
        return schema;
    }

    private JsonNode call(String method, String path, String body) {
        SchemaRegistryException lastUnreachable = null;
        for (URI base : baseUris) {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                    .timeout(timeout)
                    .header("Accept", CONTENT_TYPE + ", application/json");
            if (authorization != null) {
                request.header("Authorization", authorization);
            }
            if (body == null) {
                request.GET();
            } else {
                request.header("Content-Type", CONTENT_TYPE).POST(HttpRequest.BodyPublishers.ofString(body));
            }
            HttpResponse<String> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                lastUnreachable = new SchemaRegistryException("Schema registry " + base + " is unreachable: " + e.getMessage(), -1, -1, e);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SchemaRegistryException("Interrupted while calling schema registry " + base, -1, -1, e);
            }
            JsonNode json = parse(response.body());
            if (response.statusCode() / 100 != 2) {
                throw new SchemaRegistryException("Schema registry " + method + " " + path + " failed with HTTP "
                        + response.statusCode() + ": " + json.path("message").asText(response.body()),
                        response.statusCode(), json.path("error_code").asInt(-1), null);
            }
            return json;
        }
        throw lastUnreachable;
    }

    private static JsonNode parse(String body) {
        try {
            return JSON.readTree(body == null || body.isEmpty() ? "{}" : body);
        } catch (IOException e) {
            return JSON.createObjectNode().put("message", body);
        }
    }
}
