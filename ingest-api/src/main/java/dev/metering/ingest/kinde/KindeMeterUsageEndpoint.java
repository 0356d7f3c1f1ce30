package dev.metering.ingest.kinde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.auth.KindeTokenVerifier;
import dev.metering.ingest.auth.KindeTokenVerifier.KindePrincipal;
import dev.metering.ops.http.ErrorFormat;
import dev.metering.ingest.http.Headers;
import dev.metering.ingest.http.TimeOrderedIds;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import dev.metering.ingest.validation.RequestRules;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Kinde's {@code create_meter_usage_record}: {@code POST /api/v1/billing/meter_usage}.
 *
 * <p>Event id ({@link IdSpace#KINDE}): the {@code Idempotency-Key} header when sent (a normalised identifier, so a
 * retry with the same key counts once); otherwise a fresh time-ordered UUID (v7) per accepted request, because
 * Kinde counts every POST as a usage record: two identical requests are two usages. No id is ever derived from
 * the payload. The tenant is the organization the token acts for ({@link KindePrincipal#orgId()}).
 */
public final class KindeMeterUsageEndpoint extends UsageEndpoint<KindePrincipal> {
    public static final String PATH = "/api/v1/billing/meter_usage";
    public static final String ORIGIN = "kinde";
    public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
    /** How errors name the header. */
    public static final String IDEMPOTENCY_KEY_FIELD = IDEMPOTENCY_KEY_HEADER + " header";
    private static final Set<String> FIELDS = Set.of("customer_agreement_id", "billing_feature_code", "meter_value",
            "meter_usage_timestamp", "meter_type_code");

    private final RequestRules rules;
    private final EventPublisher publisher;
    private final KindeTokenVerifier verifier;
    private final TimeOrderedIds ids = new TimeOrderedIds();

    public KindeMeterUsageEndpoint(Http http, RequestRules rules, EventPublisher publisher, KindeTokenVerifier verifier) {
        super(http, ORIGIN, ErrorFormat.KINDE);
        this.rules = rules;
        this.publisher = publisher;
        this.verifier = verifier;
    }

    @Override
    protected KindePrincipal authenticate(Context ctx) {
        return verifier.verify(ctx.header("Authorization"));
    }

    @Override
    protected String principalName(KindePrincipal principal) {
        return principal.subject();
    }

    @Override
    protected String authenticateChallenge() {
        return "Bearer";
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body, KindePrincipal principal) {
        String key = Headers.utf8(ctx.header(IDEMPOTENCY_KEY_HEADER), IDEMPOTENCY_KEY_FIELD);
        UsageEvent event = toEvent(body, key, principal.orgId(), rules, ids::nextString);
        ObjectNode success = json().createObjectNode();
        success.put("message", "Success");
        success.put("code", "OK");
        return new Prepared(List.of(event), success);
    }

    /** 200 with Kinde's success body once the event is stored. */
    @Override
    protected CompletableFuture<Reply> send(Prepared prepared) {
        return publisher.publish(prepared.events()).thenApply(ok -> new Reply(200, prepared.successBody()));
    }

    /**
     * @param idempotencyKey the header, or null
     * @param orgId          the tenant the token acts for (null = default)
     * @param freshId        the id of a request without {@code Idempotency-Key}; asked only once the request is valid
     */
    public static UsageEvent toEvent(JsonNode body, String idempotencyKey, String orgId, RequestRules rules, Supplier<String> freshId) {
        String key = RequestRules.optionalIdentifier(IDEMPOTENCY_KEY_FIELD, idempotencyKey);
        JsonFields request = JsonFields.read(body, "", FIELDS, false);
        String agreement = RequestRules.identifier("customer_agreement_id", request.string("customer_agreement_id"));
        String feature = RequestRules.identifier("billing_feature_code", request.string("billing_feature_code"));
        BigDecimal value = rules.quantity("meter_value", request.node("meter_value"));
        String typeCode = request.optionalString("meter_type_code", 20);
        ValueType valueType;
        if (typeCode == null || typeCode.equalsIgnoreCase("delta")) {
            valueType = ValueType.DELTA;
        } else if (typeCode.equalsIgnoreCase("absolute")) {
            valueType = ValueType.ABSOLUTE;
        } else {
            throw new InvalidFieldException("meter_type_code", "must be 'absolute' or 'delta'");
        }
        Instant now = rules.now();
        String timestamp = request.string("meter_usage_timestamp");
        Instant eventTime = timestamp == null ? rules.admit("meter_usage_timestamp", now, now)
                : rules.eventTime("meter_usage_timestamp", timestamp, now);
        UsageEvent event = UsageEvent.newBuilder()
                .setEventId(key != null ? key : "pending")
                .setIdSpace(IdSpace.KINDE)
                .setOrgId(orgId)
                .setBillingAccountId(agreement)
                .setFeatureCode(feature)
                .setQuantity(value)
                .setValueType(valueType)
                .setEventTime(eventTime)
                .setEventTimeDefaulted(timestamp == null)
                .setReceivedAt(now)
                .setOrigin(ORIGIN)
                .build();
        rules.check(event, field -> switch (field) {
            case "event_id" -> IDEMPOTENCY_KEY_FIELD;
            case "org_id" -> "organization of the token";
            case "billing_account_id" -> "customer_agreement_id";
            case "feature_code" -> "billing_feature_code";
            case "quantity" -> "meter_value";
            case "value_type" -> "meter_type_code";
            case "event_time" -> "meter_usage_timestamp";
            default -> field;
        });
        if (key == null) {
            event.setEventId(freshId.get());
        }
        return event;
    }
}
