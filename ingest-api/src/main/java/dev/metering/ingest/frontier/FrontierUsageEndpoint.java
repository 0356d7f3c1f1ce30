package dev.metering.ingest.frontier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.http.ApiException;
import dev.metering.ingest.http.ErrorFormat;
import dev.metering.ingest.http.ErrorKind;
import dev.metering.ingest.http.PathParameters;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.validation.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.rules.Identifiers;
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
 * validated before any is produced; the answer is {@code {}}. The org in the path (one the credential is bound to)
 * is the tenant of every usage; ids are Frontier usage ids ({@link IdSpace#FRONTIER}).
 */
public final class FrontierUsageEndpoint extends UsageEndpoint<FrontierCredential> {
    public static final String PATH = "/v1beta1/organizations/{orgId}/billing/{billingId}/usages";
    /**
     * The route as registered: wildcards, not Javalin path parameters, because Javalin decodes those leniently (and
     * fails with an exception on {@code %u0041}) before any handler runs; {@link #pathParameters} decodes them strictly.
     */
    public static final String ROUTE = "/v1beta1/organizations/*/billing/*/usages";
    public static final String ORIGIN = "frontier";
    /** The path parameters as errors name them (decoded, then held to the identifier rules like body fields). */
    public static final String ORG_PARAMETER = "orgId";
    public static final String BILLING_PARAMETER = "billingId";
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

    /** Authenticates, then checks the org in the path: a valid identifier (400) the credential is bound to (403). */
    @Override
    protected FrontierCredential authenticate(Context ctx) {
        FrontierCredential credential = authenticator.authenticate(ctx.header("Authorization"));
        BasicAuthenticator.requireOrg(credential, RequestRules.identifier(ORG_PARAMETER, orgParameter(ctx)));
        return credential;
    }

    @Override
    protected String principalName(FrontierCredential credential) {
        return credential.username();
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
    protected Prepared prepare(Context ctx, JsonNode body, FrontierCredential credential) {
        return new Prepared(toEvents(orgParameter(ctx), pathParameters(ctx)[1], body, support.rules()),
                support.json().createObjectNode());
    }

    private static String orgParameter(Context ctx) {
        return pathParameters(ctx)[0];
    }

    /**
     * {@code orgId} and {@code billingId}, decoded strictly from the raw path: segments 3 and 5 of
     * {@code /v1beta1/organizations/{orgId}/billing/{billingId}/usages}; any other shape is not this endpoint (404).
     */
    static String[] pathParameters(Context ctx) {
        String path = ctx.req().getRequestURI();
        String[] segments = path == null ? new String[0] : path.split("/", -1);
        if (segments.length != 7 || !segments[1].equals("v1beta1") || !segments[2].equals("organizations") || !segments[4].equals("billing")
                || !segments[6].equals("usages")) {
            throw new ApiException(ErrorKind.NOT_FOUND, "no endpoint POST " + ctx.path() + "; usages go to " + PATH);
        }
        return new String[] {PathParameters.decode(segments[3], ORG_PARAMETER), PathParameters.decode(segments[5], BILLING_PARAMETER)};
    }

    /**
     * The request as events, or an {@link InvalidFieldException} for the first problem found.
     *
     * @param orgId     the decoded path parameter (the tenant)
     * @param billingId the decoded path parameter
     */
    public static List<UsageEvent> toEvents(String orgId, String billingId, JsonNode body, RequestRules rules) {
        String org = RequestRules.identifier(ORG_PARAMETER, orgId);
        String billing = RequestRules.identifier(BILLING_PARAMETER, billingId);
        JsonFields request = JsonFields.read(body, "", REQUEST_FIELDS, true);
        requireMatch(request, "org_id", org);
        requireMatch(request, "billing_id", billing);
        String projectId = RequestRules.text(request.path("project_id"), emptyAsAbsent(request.string("project_id")), Identifiers.MAX_LENGTH);
        ArrayNode usages = request.requiredArray("usages");
        if (usages.isEmpty()) {
            throw new InvalidFieldException(request.path("usages"), "must hold at least one usage");
        }
        Instant now = rules.now();
        List<UsageEvent> events = new ArrayList<>(usages.size());
        Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < usages.size(); i++) {
            String path = request.path("usages") + "[" + i + "]";
            JsonFields usage = JsonFields.read(usages.get(i), path, USAGE_FIELDS, true);
            UsageEvent event = toEvent(usage, org, billing, projectId, rules, now);
            rules.check(event, field -> switch (field) {
                case "org_id" -> ORG_PARAMETER;
                case "billing_account_id" -> BILLING_PARAMETER;
                case "project_id" -> request.path("project_id");
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

    private static UsageEvent toEvent(JsonFields usage, String org, String billing, String projectId, RequestRules rules, Instant now) {
        String id = RequestRules.identifier(usage.path("id"), usage.string("id"));
        String customerId = RequestRules.optionalIdentifier(usage.path("customer_id"), emptyAsAbsent(usage.string("customer_id")));
        if (customerId != null && !customerId.equals(billing)) {
            throw new InvalidFieldException(usage.path("customer_id"), "'" + customerId + "' differs from the billing id in the path '" + billing + "'");
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
                .setBillingAccountId(billing)
                .setOrgId(org)
                .setFeatureCode(source)
                .setQuantity(rules.nonNegativeInteger(usage.path("amount"), usage.node("amount")))
                .setValueType(ValueType.DELTA)
                .setEventTime(createdAt == null ? rules.admit(usage.path("created_at"), now, now)
                        : rules.eventTime(usage.path("created_at"), createdAt, now))
                .setReceivedAt(now)
                .setUsageType(type)
                .setUserId(RequestRules.text(usage.path("user_id"), emptyAsAbsent(usage.string("user_id")), Identifiers.MAX_TEXT_LENGTH))
                .setProjectId(projectId)
                .setDescription(RequestRules.text(usage.path("description"), emptyAsAbsent(usage.string("description")), Identifiers.MAX_TEXT_LENGTH))
                .setMetadata(RequestRules.metadata(usage.path("metadata"), usage.node("metadata"), false))
                .setOrigin(ORIGIN)
                .build();
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
