package dev.metering.ingest.frontier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.rules.Identifiers;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Frontier's {@code CreateBillingUsageRequest} (protojson) as {@link UsageEvent}s, whichever route carried it. Every
 * usage is validated before any event is returned; the first problem is an {@link InvalidFieldException} naming the
 * field as the client wrote it. Ids are Frontier usage ids ({@link IdSpace#FRONTIER}), the org is the tenant.
 *
 * <p>{@code project_id}, as Frontier documents it ("either provide billing_id of the org or API can infer the default
 * billing ID from either org_id or project_id, not both"): Frontier resolves a project to its org and refuses a request
 * naming both ({@code both project_id and org_id cannot be provided}); since January 2026 the field is deprecated and
 * newer Frontier releases drop it. This server has no project directory, so the org must be named: a request naming both
 * is refused with Frontier's words (on the path form the path names the org), one naming only the project is refused
 * asking for {@code org_id}. A usage therefore never carries a project id from Frontier routes.
 */
public final class CreateBillingUsage {
    static final Set<String> REQUEST_FIELDS = Set.of("org_id", "billing_id", "project_id", "usages");
    /** Frontier's Usage message; customer_id must name the billing account if given, updated_at is server-set there and ignored. */
    static final Set<String> USAGE_FIELDS = Set.of("id", "customer_id", "source", "description", "type", "amount",
            "user_id", "metadata", "created_at", "updated_at");
    private static final Set<String> TYPES = Set.of("credit", "feature");

    private CreateBillingUsage() {
    }

    /**
     * The org (tenant) and billing account of a request, normalised, with the names errors use for them.
     *
     * @param billingField the name of the field the billing account came from ({@code billingId}, {@code billing_id},
     *                     or {@code org_id} when it defaulted to the org)
     */
    public record Target(String org, String orgField, String billing, String billingField) {
        /**
         * The path form: both from the (decoded) path; {@code org_id} / {@code billing_id} in the body, when sent, must
         * equal them, and {@code project_id} must not be sent (the path names the org).
         */
        public static Target fromPath(String orgId, String billingId, JsonFields request) {
            return fromPath(orgId, FrontierUsageEndpoint.ORG_PARAMETER, billingId, FrontierUsageEndpoint.BILLING_PARAMETER, request);
        }

        /** {@link #fromPath(String, String, JsonFields)} for a route whose path parameters have other names. */
        public static Target fromPath(String orgId, String orgParameter, String billingId, String billingParameter, JsonFields request) {
            Target target = new Target(RequestRules.identifier(orgParameter, orgId), orgParameter,
                    RequestRules.identifier(billingParameter, billingId), billingParameter);
            requireMatch(request, "org_id", target.org());
            requireMatch(request, "billing_id", target.billing());
            refuseProjectWithOrg(request);
            return target;
        }

        /**
         * The body form and Connect: {@code org_id} is required; {@code billing_id} names the account, and when it is
         * absent (Frontier infers the org's one billing account, and newer Frontier clients no longer send it) the
         * account is named by the org id.
         */
        public static Target fromBody(JsonFields request) {
            String org = emptyAsAbsent(request.string("org_id"));
            if (org == null) {
                throw new InvalidFieldException(request.path("org_id"), emptyAsAbsent(request.string("project_id")) == null ? "is required"
                        : "is required: this server cannot resolve " + request.path("project_id") + " to its organization, so name the organization");
            }
            org = RequestRules.identifier(request.path("org_id"), org);
            refuseProjectWithOrg(request);
            String billing = emptyAsAbsent(request.string("billing_id"));
            return billing == null ? new Target(org, request.path("org_id"), org, request.path("org_id"))
                    : new Target(org, request.path("org_id"), RequestRules.identifier(request.path("billing_id"), billing), request.path("billing_id"));
        }
    }

    /**
     * The request's usages as events.
     *
     * @param request the request body read with {@link #REQUEST_FIELDS}
     * @param ignored told the path of every unknown member of a usage, which is skipped
     */
    public static List<UsageEvent> toEvents(Target target, JsonFields request, RequestRules rules, Consumer<String> ignored) {
        ArrayNode usages = request.requiredArray("usages");
        if (usages.isEmpty()) {
            throw new InvalidFieldException(request.path("usages"), "must hold at least one usage");
        }
        Instant now = rules.now();
        List<UsageEvent> events = new ArrayList<>(usages.size());
        Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < usages.size(); i++) {
            String path = request.path("usages") + "[" + i + "]";
            JsonFields usage = JsonFields.readIgnoringUnknown(usages.get(i), path, USAGE_FIELDS, ignored);
            UsageEvent event = toEvent(usage, target, rules, now);
            rules.check(event, field -> switch (field) {
                case "org_id" -> target.orgField();
                case "billing_account_id" -> target.billingField();
                default -> usage.path(switch (field) {
                    case "event_id" -> "id";
                    case "feature_code" -> "source";
                    case "quantity" -> "amount";
                    case "event_time" -> "created_at";
                    case "usage_type" -> "type";
                    default -> field;
                });
            });
            Integer earlier = indexById.putIfAbsent(event.getEventId(), i);
            if (earlier != null) {
                throw new InvalidFieldException(path + ".id", "'" + event.getEventId() + "' is already used by usages[" + earlier + "] of this request",
                        InvalidFieldException.Reason.DUPLICATE);
            }
            events.add(event);
        }
        return events;
    }

    private static UsageEvent toEvent(JsonFields usage, Target target, RequestRules rules, Instant now) {
        String id = RequestRules.identifier(usage.path("id"), usage.string("id"));
        String customerId = RequestRules.optionalIdentifier(usage.path("customer_id"), emptyAsAbsent(usage.string("customer_id")));
        if (customerId != null && !customerId.equals(target.billing())) {
            throw new InvalidFieldException(usage.path("customer_id"), "'" + customerId + "' differs from the billing account of the request '"
                    + target.billing() + "' (" + target.billingField() + ")");
        }
        String source = RequestRules.lowerCaseIdentifier(usage.path("source"), usage.string("source"));
        String type = usage.optionalString("type", 20);
        type = type == null ? "credit" : type.toLowerCase(Locale.ROOT);
        if (!TYPES.contains(type)) {
            throw new InvalidFieldException(usage.path("type"), "must be 'credit' or 'feature'");
        }
        if (!usage.has("amount")) {
            throw new InvalidFieldException(usage.path("amount"), "is required");
        }
        String createdAt = usage.string("created_at");
        return UsageEvent.newBuilder()
                .setEventId(id)
                .setIdSpace(IdSpace.FRONTIER)
                .setBillingAccountId(target.billing())
                .setOrgId(target.org())
                .setFeatureCode(source)
                .setQuantity(rules.nonNegativeInteger(usage.path("amount"), usage.node("amount")))
                .setValueType(ValueType.DELTA)
                .setEventTime(createdAt == null ? rules.admit(usage.path("created_at"), now, now)
                        : rules.eventTime(usage.path("created_at"), createdAt, now))
                .setEventTimeDefaulted(createdAt == null)
                .setReceivedAt(now)
                .setUsageType(type)
                .setUserId(RequestRules.text(usage.path("user_id"), emptyAsAbsent(usage.string("user_id")), Identifiers.MAX_TEXT_LENGTH))
                .setDescription(RequestRules.text(usage.path("description"), emptyAsAbsent(usage.string("description")), Identifiers.MAX_TEXT_LENGTH))
                .setMetadata(RequestRules.metadata(usage.path("metadata"), usage.node("metadata"), false))
                .setOrigin(FrontierUsageEndpoint.ORIGIN)
                .build();
    }

    /** Frontier refuses a request naming both a project and an org ("not both"); its words. */
    private static void refuseProjectWithOrg(JsonFields request) {
        if (emptyAsAbsent(request.string("project_id")) != null) {
            throw new InvalidFieldException(request.path("project_id"), "must not be sent with an organization: both project_id and org_id cannot be provided");
        }
    }

    /** protojson: an empty string is the field's default, i.e. not set. */
    private static String emptyAsAbsent(String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    private static void requireMatch(JsonFields request, String field, String pathValue) {
        String value = emptyAsAbsent(request.string(field));
        if (value != null && !RequestRules.identifier(request.path(field), value).equals(pathValue)) {
            throw new InvalidFieldException(request.path(field), "'" + value + "' differs from the path's '" + pathValue + "'");
        }
    }
}
