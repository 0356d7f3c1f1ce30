package dev.metering.ingest.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.auth.ApiKeyAuthenticator;
import dev.metering.ingest.http.ErrorFormat;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.validation.EventRules;
import dev.metering.ingest.validation.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The native batch endpoint: {@code POST /v1/events:batch} with {@code {"events": [...]}}, up to
 * {@value #MAX_EVENTS} events in the canonical UsageEvent shape (snake_case). Each event is accepted or
 * refused on its own; the accepted ones are produced and the answer lists a result per event.
 */
public final class BatchEventsEndpoint extends UsageEndpoint {
    public static final String PATH = "/v1/events:batch";
    public static final String ORIGIN = "batch";
    public static final int MAX_EVENTS = 1000;
    private static final Set<String> REQUEST_FIELDS = Set.of("events");
    private static final Set<String> EVENT_FIELDS = Set.of("event_id", "billing_account_id", "org_id", "feature_code", "quantity",
            "value_type", "event_time", "usage_type", "user_id", "project_id", "description", "metadata");

    private final ApiKeyAuthenticator authenticator;

    public BatchEventsEndpoint(Support support, ApiKeyAuthenticator authenticator) {
        super(support, ORIGIN, ErrorFormat.NATIVE);
        this.authenticator = authenticator;
    }

    @Override
    protected String authenticate(Context ctx) {
        return authenticator.authenticate(ctx.header("X-Api-Key"), ctx.header("Authorization"));
    }

    @Override
    protected int eventCount(JsonNode body) {
        JsonNode events = body == null ? null : body.get("events");
        return events != null && events.isArray() ? Math.max(1, events.size()) : 1;
    }

    /** One event's outcome: the event, or why it was refused. */
    public record Result(int index, String eventId, UsageEvent event, InvalidFieldException error) {
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body) {
        List<Result> results = validate(body, support.rules());
        List<UsageEvent> accepted = new ArrayList<>();
        ObjectNode answer = support.json().createObjectNode();
        ArrayNode list = answer.putArray("results");
        int invalid = 0;
        for (Result result : results) {
            ObjectNode item = list.addObject();
            item.put("index", result.index());
            if (result.eventId() != null) {
                item.put("event_id", result.eventId());
            } else {
                item.putNull("event_id");
            }
            if (result.error() == null) {
                accepted.add(result.event());
                item.put("status", "accepted");
            } else {
                invalid++;
                item.put("status", "invalid");
                item.put("reason", result.error().getMessage());
                support.metrics().eventsRejected(ORIGIN, result.error().reason().name().toLowerCase(Locale.ROOT), 1);
            }
        }
        answer.put("accepted", accepted.size());
        answer.put("invalid", invalid);
        return new Prepared(accepted, answer);
    }

    /** Per-event validation; a request that is not {@code {"events": [1..1000 items]}} is refused as a whole. */
    public static List<Result> validate(JsonNode body, EventRules rules) {
        JsonFields request = JsonFields.read(body, "", REQUEST_FIELDS, false);
        ArrayNode events = request.requiredArray("events");
        if (events.isEmpty()) {
            throw new InvalidFieldException("events", "must hold at least one event");
        }
        if (events.size() > MAX_EVENTS) {
            throw new InvalidFieldException("events", "holds " + events.size() + " events; at most " + MAX_EVENTS + " are allowed per request");
        }
        Instant now = rules.now();
        List<Result> results = new ArrayList<>(events.size());
        for (int i = 0; i < events.size(); i++) {
            JsonNode node = events.get(i);
            JsonNode idNode = node.isObject() ? node.get("event_id") : null;
            String eventId = idNode != null && idNode.isTextual() ? idNode.textValue() : null;
            try {
                results.add(new Result(i, eventId, toEvent(JsonFields.read(node, "events[" + i + "]", EVENT_FIELDS, false), rules, now), null));
            } catch (InvalidFieldException e) {
                results.add(new Result(i, eventId, null, e));
            }
        }
        return results;
    }

    private static UsageEvent toEvent(JsonFields event, EventRules rules, Instant now) {
        String valueType = event.optionalString("value_type", 20);
        ValueType type;
        try {
            type = valueType == null ? ValueType.DELTA : ValueType.valueOf(valueType.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(event.path("value_type"), "must be DELTA or ABSOLUTE, got '" + valueType + "'");
        }
        String eventTime = event.optionalString("event_time", 64);
        return UsageEvent.newBuilder()
                .setEventId(event.requiredString("event_id", EventRules.MAX_ID_LENGTH))
                .setBillingAccountId(event.requiredString("billing_account_id", EventRules.MAX_ID_LENGTH))
                .setOrgId(event.optionalString("org_id", EventRules.MAX_ID_LENGTH))
                .setFeatureCode(event.requiredString("feature_code", EventRules.MAX_ID_LENGTH))
                .setQuantity(rules.quantity(event.path("quantity"), event.node("quantity")))
                .setValueType(type)
                .setEventTime(eventTime == null ? now : rules.eventTime(event.path("event_time"), eventTime, now))
                .setReceivedAt(now)
                .setUsageType(event.optionalString("usage_type", EventRules.MAX_ID_LENGTH))
                .setUserId(event.optionalString("user_id", EventRules.MAX_TEXT_LENGTH))
                .setProjectId(event.optionalString("project_id", EventRules.MAX_ID_LENGTH))
                .setDescription(event.optionalString("description", EventRules.MAX_TEXT_LENGTH))
                .setMetadata(rules.metadata(event.path("metadata"), event.node("metadata"), true))
                .setOrigin(ORIGIN)
                .build();
    }
}
