package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI document the API serves cannot drift from the routes: every route the code serves is in the document,
 * every documented operation is served, and what an unauthenticated client gets back (status and error shape) is
 * one of the answers the document lists for that operation. No broker: nothing here reaches Kafka.
 */
class OpenApiDocumentTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** Served but deliberately not an operation of the document: the document itself. */
    private static final Set<String> UNDOCUMENTED = Set.of("GET /openapi.json");
    private static IngestApi api;
    private static JsonNode document;

    @BeforeAll
    static void start() throws Exception {
        IngestApiConfig config = IngestApiConfig.defaults("127.0.0.1:1", "mem://openapi-test");
        api = new IngestApi(config).start();
        document = JSON.readTree(get("/openapi.json").body());
    }

    @AfterAll
    static void stop() {
        api.close();
    }

    @Test
    void everyServedRouteIsDocumentedAndEveryDocumentedOperationIsServed() {
        Set<String> served = new TreeSet<>();
        api.routes().forEach(route -> served.add(normalise(route)));
        UNDOCUMENTED.forEach(served::remove);
        Set<String> documented = new TreeSet<>();
        document.get("paths").fields().forEachRemaining(path -> path.getValue().fieldNames()
                .forEachRemaining(method -> documented.add(normalise(method.toUpperCase(Locale.ROOT) + " " + path.getKey()))));
        assertThat(served).as("routes the code serves vs. operations the document lists").isEqualTo(documented);
    }

    @Test
    void anUnauthenticatedRequestGetsAnAnswerTheDocumentLists() throws Exception {
        List<String> mismatches = new ArrayList<>();
        var paths = document.get("paths").fields();
        while (paths.hasNext()) {
            var path = paths.next();
            JsonNode post = path.getValue().get("post");
            if (post == null) {
                continue;
            }
            String concrete = path.getKey().replaceAll("\\{[^}]+}", "x");
            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + concrete))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            String status = String.valueOf(answer.statusCode());
            if (!post.get("responses").has(status)) {
                mismatches.add("POST " + path.getKey() + " answered " + status + " which the document does not list");
            }
            if (!answer.body().startsWith("{")) {
                mismatches.add("POST " + path.getKey() + " answered a non-JSON error: " + answer.body());
            }
        }
        assertThat(mismatches).isEmpty();
    }

    /** "POST /a/{b}/c" and "POST /a/*\/c" are the same route. */
    private static String normalise(String route) {
        return route.replaceAll("\\{[^}]+}", "*").replaceAll("<[^>]+>", "*");
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
