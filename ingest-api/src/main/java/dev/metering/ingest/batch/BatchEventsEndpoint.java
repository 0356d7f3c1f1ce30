package dev.metering.ingest.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ops.auth.ApiKey;
import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ingest.http.ApiKeyEndpoint;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.rules.Identifiers;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The native batch endpoint: {@code POST /v1/events:batch} with {@code {"events": [...]}}, up to
 * {@value #MAX_EVENTS} events in the canonical UsageEvent shape (snake_case). Each event is accepted or
 * refused on its own; the accepted ones are produced and the answer lists a result per event. Ids are native
 * event ids ({@link IdSpace#NATIVE}); the tenant is what the key allows ({@link ApiKey#orgFor}).
 */
public final class BatchEventsEndpoint extends ApiKeyEndpoint {
    public static final String PATH = "/v1/events:batch";
    public static final String ORIGIN = "batch";
    public static final int MAX_EVENTS = 1000;
    private static final Set<String> REQUEST_FIELDS = Set.of("events");
    private static final Set<String> EVENT_FIELDS = Set.of("event_id", "billing_account_id", "org_id", "feature_code", "quantity",
            "value_type", "event_time", "usage_type", "user_id", "project_id", "description", "metadata");

    private final RequestRules rules;
    private final EventPublisher publisher;

    public BatchEventsEndpoint(Http http, RequestRules rules, EventPublisher publisher, ApiKeyAuthenticator authenticator) {
        super(http, ORIGIN, authenticator);
        this.rules = rules;
        this.publisher = publisher;
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
    protected Prepared prepare(Context ctx, JsonNode body, ApiKey key) {
        List<Result> results = validate(body, key, rules);
        List<UsageEvent> accepted = new ArrayList<>();
        ObjectNode answer = json().createObjectNode();
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
                item.put("code", result.error().kind().name());
                item.put("reason", result.error().getMessage());
                metrics().eventsRejected(ORIGIN, result.error().reason().name().toLowerCase(Locale.ROOT), 1);
            }
        }
        answer.put("accepted", accepted.size());
        answer.put("invalid", invalid);
        return new Prepared(accepted, answer);
    }

    /** 200 with the per-event results once the accepted events are stored. */
    @Override
    protected CompletableFuture<Reply> send(Prepared prepared) {
        return publisher.publish(prepared.events()).thenApply(ok -> new Reply(200, prepared.successBody()));
    }

    /** Per-event validation; a request that is not {@code {"events": [1..1000 items]}} is refused as a whole. */
    public static List<Result> validate(JsonNode body, ApiKey key, RequestRules rules) {
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
            String eventId = idNode != null && idNode.isTextual() ? echoableId(idNode.textValue()) : null;
            try {
                UsageEvent event = toEvent(JsonFields.read(node, "events[" + i + "]", EVENT_FIELDS, false), key, rules, now);
                results.add(new Result(i, event.getEventId(), event, null));
            } catch (InvalidFieldException e) {
                results.add(new Result(i, eventId, null, e));
            }
        }
        return results;
    }

    /** The id to show next to a refused event: its normal form when it is a valid identifier, else none (no echo of junk). */
    private static String echoableId(String id) {
        try {
            return Identifiers.normalize("event_id", id);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * The rules run under the event's own field names ({@code quantity}); a refusal is renamed to the field's path in
     * the request ({@code events[3].quantity}) only when it happens: building a dozen paths for every valid event was
     * a sixth of the batch's validation cost. Refusals of {@link JsonFields} carry their path already.
     */
    private static UsageEvent toEvent(JsonFields event, ApiKey key, RequestRules rules, Instant now) {
        try {
            return toEventNamedByField(event, key, rules, now);
        } catch (InvalidFieldException e) {
            String field = e.field();
            if (EVENT_FIELDS.contains(field) || field.startsWith("metadata")) {
                throw e.renamed(pathOf(event, field));
            }
            throw e;
        }
    }

    /** The request's name for an event field, a metadata entry ({@code metadata.region}) included. */
    private static String pathOf(JsonFields event, String field) {
        return field.startsWith("metadata") ? event.path("metadata") + field.substring("metadata".length()) : event.path(field);
    }

    private static UsageEvent toEventNamedByField(JsonFields event, ApiKey key, RequestRules rules, Instant now) {
        String valueType = event.optionalString("value_type", 20);
        ValueType type;
        try {
            type = valueType == null ? ValueType.DELTA : ValueType.valueOf(valueType.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("value_type", "must be DELTA or ABSOLUTE");
        }
        String eventTime = event.string("event_time");
        String org = key.orgFor(RequestRules.optionalIdentifier("org_id", event.string("org_id")), "org_id");
        // Setters, not UsageEvent.newBuilder(): the builder validates every field against the schema again, and
        // rules.check below is the last word on the finished event anyway. Same order as the checks were written.
        UsageEvent usage = new UsageEvent();
        usage.setEventId(RequestRules.identifier("event_id", event.string("event_id")));
        usage.setIdSpace(IdSpace.NATIVE);
        usage.setBillingAccountId(RequestRules.identifier("billing_account_id", event.string("billing_account_id")));
        usage.setOrgId(org);
        usage.setFeatureCode(RequestRules.identifier("feature_code", event.string("feature_code")));
        usage.setQuantity(rules.quantity("quantity", event.node("quantity")));
        usage.setValueType(type);
        usage.setEventTime(eventTime == null ? rules.admit("event_time", now, now) : rules.eventTime("event_time", eventTime, now));
        usage.setEventTimeDefaulted(eventTime == null);
        usage.setReceivedAt(now);
        usage.setUsageType(RequestRules.text("usage_type", event.string("usage_type"), Identifiers.MAX_LENGTH));
        usage.setUserId(RequestRules.text("user_id", event.string("user_id"), Identifiers.MAX_TEXT_LENGTH));
        usage.setProjectId(RequestRules.text("project_id", event.string("project_id"), Identifiers.MAX_LENGTH));
        usage.setDescription(RequestRules.text("description", event.string("description"), Identifiers.MAX_TEXT_LENGTH));
        usage.setMetadata(RequestRules.metadata("metadata", event.node("metadata"), true));
        usage.setOrigin(ORIGIN);
        usage.setRevertsEventId(null);
        return rules.check(usage, field -> field); // "origin" is no request field: it stays as it is
    }
}
