package dev.metering.ingest.frontier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.http.ErrorFormat;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.validation.EventRules;
import dev.metering.ingest.validation.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Frontier's {@code CreateBillingUsage}: {@code POST /v1beta1/organizations/{orgId}/billing/{billingId}/usages}.
 * Field names are accepted in snake_case and lowerCamelCase as protojson does. Every usage of the request is
 * validated before any is produced; the answer is {@code {}}.
 */
public final class FrontierUsageEndpoint extends UsageEndpoint {
    public static final String PATH = "/v1beta1/organizations/{orgId}/billing/{billingId}/usages";
    public static final String ORIGIN = "frontier";
    private static final Set<String> REQUEST_FIELDS = Set.of("org_id", "billing_id", "project_id", "usages");
    /** Frontier's Usage message; customer_id must name the billing account if given, updated_at is server-set there and ignored. */
    private static final Set<String> USAGE_FIELDS = Set.of("id", "customer_id", "source", "description", "type", "amount",
            "user_id", "metadata", "created_at", "updated_at");
    private static final Set<String> TYPES = Set.of("credit", "feature");

    private final BasicAuthenticator authenticator;

    public FrontierUsageEndpoint(Support support, BasicAuthenticator authenticator) {
        super(support, ORIGIN, ErrorFormat.GRPC_GATEWAY);
        this.authenticator = authenticator;
    }

    @Override
    protected String authenticate(Context ctx) {
        return authenticator.authenticate(ctx.header("Authorization"), ctx.pathParam("orgId"));
    }

    @Override
    protected String authenticateChallenge() {
        return "Basic realm=\"frontier\"";
    }

    @Override
    protected int eventCount(JsonNode body) {
        JsonNode usages = body == null ? null : body.has("usages") ? body.get("usages") : null;
        return usages != null && usages.isArray() ? Math.max(1, usages.size()) : 1;
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body) {
        return new Prepared(toEvents(ctx.pathParam("orgId"), ctx.pathParam("billingId"), body, support.rules()),
                support.json().createObjectNode());
    }

    /** The request as events, or an {@link InvalidFieldException} for the first problem found. */
    public static List<UsageEvent> toEvents(String orgId, String billingId, JsonNode body, EventRules rules) {
        JsonFields request = JsonFields.read(body, "", REQUEST_FIELDS, true);
        requireMatch(request, "org_id", orgId);
        requireMatch(request, "billing_id", billingId);
        String projectId = request.optionalString("project_id", EventRules.MAX_ID_LENGTH);
        ArrayNode usages = request.requiredArray("usages");
        if (usages.isEmpty()) {
            throw new InvalidFieldException(request.path("usages"), "must hold at least one usage");
        }
        Instant now = rules.now();
        List<UsageEvent> events = new ArrayList<>(usages.size());
        Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < usages.size(); i++) {
            String path = request.path("usages") + "[" + i + "]";
            UsageEvent event = toEvent(JsonFields.read(usages.get(i), path, USAGE_FIELDS, true), orgId, billingId, projectId, rules, now);
            Integer earlier = indexById.putIfAbsent(event.getEventId(), i);
            if (earlier != null) {
                throw new InvalidFieldException(path + ".id", "'" + event.getEventId() + "' is already used by usages[" + earlier + "] of this request",
                        InvalidFieldException.Reason.DUPLICATE);
            }
            events.add(event);
        }
        return events;
    }

    private static UsageEvent toEvent(JsonFields usage, String orgId, String billingId, String projectId, EventRules rules, Instant now) {
        String id = usage.requiredString("id", EventRules.MAX_ID_LENGTH);
        String customerId = usage.optionalString("customer_id", EventRules.MAX_TEXT_LENGTH);
        if (customerId != null && !customerId.equals(billingId)) {
            throw new InvalidFieldException(usage.path("customer_id"), "'" + customerId + "' differs from the billing id in the path '" + billingId + "'");
        }
        String source = usage.requiredString("source", EventRules.MAX_ID_LENGTH).toLowerCase(Locale.ROOT);
        String type = usage.optionalString("type", 20);
        type = type == null ? "credit" : type.toLowerCase(Locale.ROOT);
        if (!TYPES.contains(type)) {
            throw new InvalidFieldException(usage.path("type"), "must be 'credit' or 'feature', got '" + type + "'");
        }
        if (!usage.has("amount")) {
            throw new InvalidFieldException(usage.path("amount"), "is required");
        }
        String createdAt = usage.optionalString("created_at", 64);
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setBillingAccountId(billingId)
                .setOrgId(orgId)
                .setFeatureCode(source)
                .setQuantity(rules.nonNegativeInteger(usage.path("amount"), usage.node("amount")))
                .setValueType(ValueType.DELTA)
                .setEventTime(createdAt == null ? now : rules.eventTime(usage.path("created_at"), createdAt, now))
                .setReceivedAt(now)
                .setUsageType(type)
                .setUserId(usage.optionalString("user_id", EventRules.MAX_TEXT_LENGTH))
                .setProjectId(projectId)
                .setDescription(usage.optionalString("description", EventRules.MAX_TEXT_LENGTH))
                .setMetadata(rules.metadata(usage.path("metadata"), usage.node("metadata"), false))
                .setOrigin(ORIGIN)
                .build();
    }

    private static void requireMatch(JsonFields request, String field, String pathValue) {
        String value = request.optionalString(field, EventRules.MAX_TEXT_LENGTH);
        if (value != null && !value.equals(pathValue)) {
            throw new InvalidFieldException(request.path(field), "'" + value + "' differs from the path's '" + pathValue + "'");
        }
    }
}
