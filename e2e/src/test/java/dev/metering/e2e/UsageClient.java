package dev.metering.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client as a careful service would write one: it sends batches to the native endpoint and, on a
 * timeout, a connection error or a 5xx, sends the same batch again with the same event ids until it
 * gets an answer. It records exactly the events the API said it accepted.
 */
final class UsageClient {
    /** An event of the native API; {@code org} null = the default tenant. */
    record Event(String org, String eventId, String account, String feature, BigDecimal quantity, String valueType, Instant eventTime) {
        Event(String eventId, String account, String feature, BigDecimal quantity, String valueType, Instant eventTime) {
            this(null, eventId, account, feature, quantity, valueType, eventTime);
        }

        /** Identity as the aggregator counts it (tenant, account, id space, id); the native API's id space. */
        String identity() {
            return Rollups.identity(org, account, "NATIVE", eventId);
        }
    }

    /** A revert sent through {@code POST /v1/events:revert}; its identity is its idempotency key in the native id space. */
    record Revert(Event usage, BigDecimal amount, String key) {
        String identity() {
            return Rollups.identity(usage.org(), usage.account(), "NATIVE", key);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String url;
    private final Map<String, Event> accepted = new ConcurrentHashMap<>();
    private final Map<String, Revert> appliedReverts = new ConcurrentHashMap<>();
    final AtomicInteger retries = new AtomicInteger();

    UsageClient(String apiUrl) {
        this.url = apiUrl + "/v1/events:batch";
    }

    /** Sends until answered; returns the number of events accepted by this call. */
    int send(List<Event> batch) {
        HttpResponse<String> response = postUntilAnswered(url, body(batch), "an answer for a batch");
        if (response.statusCode() != 200) {
            throw new AssertionError("Request refused with " + response.statusCode() + ": " + response.body());
        }
        try {
            return record(batch, JSON.readTree(response.body()));
        } catch (IOException e) {
            throw new AssertionError("Unreadable answer: " + response.body(), e);
        }
    }

    /**
     * Reverts until the verdict comes: a timeout, connection error, 5xx (503 without a verdict) or 429 is retried with the
     * same Idempotency-Key. Returns the HTTP status of the verdict (200 applied, 400/409 refused).
     */
    int revert(Revert revert) {
        ObjectNode body = JSON.createObjectNode();
        if (revert.usage().org() != null) {
            body.put("org_id", revert.usage().org());
        }
        body.put("billing_account_id", revert.usage().account()).put("event_id", revert.usage().eventId())
                .put("amount", revert.amount().toPlainString());
        String revertUrl = url.replace("/v1/events:batch", "/v1/events:revert");
        HttpResponse<String> response = postUntilAnswered(revertUrl, body.toString(), "a verdict for a revert", "Idempotency-Key", revert.key());
        if (response.statusCode() == 200) {
            appliedReverts.put(revert.identity(), revert);
        }
        return response.statusCode();
    }

    /**
     * Posts the same body (same ids, same key) until an answer that is final: a timeout, connection error (the service
     * may be down), 5xx or 429 is retried, for up to 3 minutes.
     */
    private HttpResponse<String> postUntilAnswered(String target, String body, String what, String... headers) {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(target))
                        .timeout(Duration.ofSeconds(15))
                        .header("X-Api-Key", Pipeline.API_KEY)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body));
                for (int i = 0; i < headers.length; i += 2) {
                    request.header(headers[i], headers[i + 1]);
                }
                HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() < 500 && response.statusCode() != 429) {
                    return response;
                }
            } catch (IOException e) {
                // timeout or connection refused: the service may be down; retry with the same ids
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            retries.incrementAndGet();
            pause();
        }
        throw new AssertionError("No " + what + " within 3 minutes");
    }

    /** The reverts the API answered 200 (applied), once each. */
    List<Revert> appliedReverts() {
        return List.copyOf(appliedReverts.values());
    }

    private int record(List<Event> batch, JsonNode answer) {
        int count = 0;
        JsonNode results = answer.path("results");
        for (int i = 0; i < batch.size(); i++) {
            if ("accepted".equals(results.path(i).path("status").asText())) {
                accepted.put(batch.get(i).identity(), batch.get(i));
                count++;
            } else {
                throw new AssertionError("Event " + batch.get(i) + " refused: " + results.path(i));
            }
        }
        return count;
    }

    /** The events the API acknowledged, once each (a retried event is the same event). */
    List<Event> accepted() {
        return List.copyOf(accepted.values());
    }

    private static String body(List<Event> batch) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode events = root.putArray("events");
        for (Event event : batch) {
            ObjectNode item = events.addObject();
            if (event.org() != null) {
                item.put("org_id", event.org());
            }
            item
                    .put("event_id", event.eventId())
                    .put("billing_account_id", event.account())
                    .put("feature_code", event.feature())
                    .put("quantity", event.quantity().toPlainString())
                    .put("value_type", event.valueType())
                    .put("event_time", event.eventTime().toString());
        }
        return root.toString();
    }

    private static void pause() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
