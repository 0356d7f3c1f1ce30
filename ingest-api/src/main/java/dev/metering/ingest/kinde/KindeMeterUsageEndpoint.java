package dev.metering.ingest.kinde;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ingest.auth.KindeTokenVerifier;
import dev.metering.ingest.http.ErrorFormat;
import dev.metering.ingest.http.UsageEndpoint;
import dev.metering.ingest.validation.EventRules;
import dev.metering.ingest.validation.InvalidFieldException;
import dev.metering.ingest.validation.JsonFields;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Kinde's {@code create_meter_usage_record}: {@code POST /api/v1/billing/meter_usage}.
 *
 * <p>Event id: the {@code Idempotency-Key} header when sent; otherwise {@link #derivedEventId} — a hash of
 * the request's canonical fields, so an identical retry is not counted twice.
 */
public final class KindeMeterUsageEndpoint extends UsageEndpoint {
    public static final String PATH = "/api/v1/billing/meter_usage";
    public static final String ORIGIN = "kinde";
    public static final String IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
    private static final Set<String> FIELDS = Set.of("customer_agreement_id", "billing_feature_code", "meter_value",
            "meter_usage_timestamp", "meter_type_code");

    private final KindeTokenVerifier verifier;

    public KindeMeterUsageEndpoint(Support support, KindeTokenVerifier verifier) {
        super(support, ORIGIN, ErrorFormat.KINDE);
        this.verifier = verifier;
    }

    @Override
    protected String authenticate(Context ctx) {
        return verifier.verify(ctx.header("Authorization"));
    }

    @Override
    protected String authenticateChallenge() {
        return "Bearer";
    }

    @Override
    protected Prepared prepare(Context ctx, JsonNode body) {
        UsageEvent event = toEvent(body, ctx.header(IDEMPOTENCY_KEY_HEADER), support.rules());
        ObjectNode success = support.json().createObjectNode();
        success.put("message", "Success");
        success.put("code", "OK");
        return new Prepared(List.of(event), success);
    }

    public static UsageEvent toEvent(JsonNode body, String idempotencyKey, EventRules rules) {
        JsonFields request = JsonFields.read(body, "", FIELDS, false);
        String agreement = request.requiredString("customer_agreement_id", EventRules.MAX_ID_LENGTH);
        String feature = request.requiredString("billing_feature_code", EventRules.MAX_ID_LENGTH);
        BigDecimal value = rules.quantity("meter_value", request.node("meter_value"));
        String typeCode = request.optionalString("meter_type_code", 20);
        ValueType valueType;
        if (typeCode == null || typeCode.equalsIgnoreCase("delta")) {
            valueType = ValueType.DELTA;
        } else if (typeCode.equalsIgnoreCase("absolute")) {
            valueType = ValueType.ABSOLUTE;
        } else {
            throw new InvalidFieldException("meter_type_code", "must be 'absolute' or 'delta', got '" + typeCode + "'");
        }
        Instant now = rules.now();
        String timestamp = request.optionalString("meter_usage_timestamp", 64);
        Instant eventTime = timestamp == null ? null : rules.eventTime("meter_usage_timestamp", timestamp, now);
        String eventId;
        if (idempotencyKey != null) {
            eventId = idempotencyKey.strip();
            if (eventId.isEmpty() || eventId.length() > EventRules.MAX_ID_LENGTH) {
                throw new InvalidFieldException(IDEMPOTENCY_KEY_HEADER + " header", "must hold 1 to " + EventRules.MAX_ID_LENGTH + " characters");
            }
        } else {
            eventId = derivedEventId(agreement, feature, value, valueType, eventTime);
        }
        return UsageEvent.newBuilder()
                .setEventId(eventId)
                .setBillingAccountId(agreement)
                .setFeatureCode(feature)
                .setQuantity(value)
                .setValueType(valueType)
                .setEventTime(eventTime == null ? now : eventTime)
                .setReceivedAt(now)
                .setOrigin(ORIGIN)
                .build();
    }

    /**
     * {@code kinde-} + hex SHA-256 over the canonical request: agreement id, feature code, the value at scale 12,
     * the value type and the timestamp (epoch millis, empty when not sent), each length-prefixed. Two requests
     * with the same values are the same event; a client reporting the same value twice on purpose must send a
     * timestamp or an Idempotency-Key that tells them apart.
     */
    public static String derivedEventId(String agreement, String feature, BigDecimal value, ValueType valueType, Instant eventTime) {
        StringBuilder canonical = new StringBuilder();
        for (String part : List.of(agreement, feature, value.toPlainString(), valueType.name().toLowerCase(Locale.ROOT),
                eventTime == null ? "" : Long.toString(eventTime.toEpochMilli()))) {
            canonical.append(part.length()).append(':').append(part).append(';');
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
            return "kinde-" + HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
