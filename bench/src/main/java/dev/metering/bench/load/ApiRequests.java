package dev.metering.bench.load;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * The HTTP requests a client of each API sends, for given events. Bodies are written by hand rather than
 * with Jackson so the load generator spends as little CPU as it can (it shares the machine with the
 * pipeline); the workload's ids need no escaping.
 */
public final class ApiRequests {
    /** The APIs the benchmark drives. */
    public enum Api {
        FRONTIER("Frontier CreateBillingUsage"),
        KINDE("Kinde meter usage"),
        BATCH("native batch");

        public final String title;

        Api(String title) {
            this.title = title;
        }
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final String baseUrl;
    private final String apiKey;
    private final String frontierAuthorization;
    private final String kindeAuthorization;

    /**
     * @param apiKey           the native API's key ({@code X-Api-Key})
     * @param frontierUser     Frontier basic-auth user
     * @param frontierSecret   Frontier basic-auth secret
     * @param kindeBearerToken a Kinde M2M access token (signed JWT), reused as a client would until it expires
     */
    public ApiRequests(String baseUrl, String apiKey, String frontierUser, String frontierSecret, String kindeBearerToken) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
        this.frontierAuthorization = "Basic " + Base64.getEncoder()
                .encodeToString((frontierUser + ":" + frontierSecret).getBytes(StandardCharsets.UTF_8));
        this.kindeAuthorization = "Bearer " + kindeBearerToken;
    }

    /** One request carrying {@code events}: a single event for Frontier and Kinde, any number for the batch API. */
    public HttpRequest request(Api api, List<Workload.Event> events) {
        return switch (api) {
            case FRONTIER -> frontier(single(api, events));
            case KINDE -> kinde(single(api, events));
            case BATCH -> batch(events);
        };
    }

    HttpRequest frontier(Workload.Event event) {
        String body = "{\"usages\":[{\"id\":\"" + event.eventId() + "\",\"source\":\"" + event.feature() + "\",\"amount\":"
                + event.quantity() + ",\"type\":\"feature\",\"created_at\":\"" + Workload.iso(event.eventTime()) + "\"}]}";
        return post("/v1beta1/organizations/bench-org/billing/" + event.account() + "/usages", body)
                .header("Authorization", frontierAuthorization).build();
    }

    HttpRequest kinde(Workload.Event event) {
        String body = "{\"customer_agreement_id\":\"" + event.account() + "\",\"billing_feature_code\":\"" + event.feature()
                + "\",\"meter_value\":\"" + event.quantity() + "\",\"meter_usage_timestamp\":\"" + Workload.iso(event.eventTime()) + "\"}";
        return post("/api/v1/billing/meter_usage", body)
                .header("Authorization", kindeAuthorization)
                .header("Idempotency-Key", event.eventId()).build();
    }

    HttpRequest batch(List<Workload.Event> events) {
        StringBuilder body = new StringBuilder(events.size() * 190 + 16).append("{\"events\":[");
        for (int i = 0; i < events.size(); i++) {
            Workload.Event event = events.get(i);
            if (i > 0) {
                body.append(',');
            }
            body.append("{\"event_id\":\"").append(event.eventId())
                    .append("\",\"billing_account_id\":\"").append(event.account())
                    .append("\",\"feature_code\":\"").append(event.feature())
                    .append("\",\"quantity\":\"").append(event.quantity())
                    .append("\",\"value_type\":\"DELTA\",\"event_time\":\"").append(Workload.iso(event.eventTime()))
                    .append("\"}");
        }
        body.append("]}");
        return post("/v1/events:batch", body.toString()).header("X-Api-Key", apiKey).build();
    }

    private HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static Workload.Event single(Api api, List<Workload.Event> events) {
        if (events.size() != 1) {
            throw new IllegalArgumentException(api.title + " requests carry one event, got " + events.size());
        }
        return events.get(0);
    }
}
