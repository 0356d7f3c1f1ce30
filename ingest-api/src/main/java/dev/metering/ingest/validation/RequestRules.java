package dev.metering.ingest.validation;

import dev.metering.ops.http.InvalidFieldException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.avro.UsageEvent;
import dev.metering.schemas.Quantities;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.rules.EventTimes;
import dev.metering.schemas.rules.Identifiers;
import dev.metering.schemas.rules.RuleViolation;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The shared {@link EventRules} (and {@link Identifiers}, {@link EventTimes}, {@link Quantities}) seen from an
 * HTTP request: the same rules, with every violation reported under the name the client wrote
 * ({@code usages[2].source}, {@code billingId}, {@code Idempotency-Key header}). No rule lives here; this class
 * only reads JSON values and renames fields.
 */
public final class RequestRules {
    private final EventRules rules;
    private final Clock clock;

    public RequestRules(EventRules rules, Clock clock) {
        this.rules = Objects.requireNonNull(rules, "rules");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public EventRules rules() {
        return rules;
    }

    /** Now, at the millisecond precision the events carry. */
    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** A required identifier in its normal form (NFC, checked). */
    public static String identifier(String field, String value) {
        try {
            return Identifiers.normalize(field, value);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        }
    }

    /** An optional identifier: null stays null. */
    public static String optionalIdentifier(String field, String value) {
        return value == null ? null : identifier(field, value);
    }

    /** Frontier's lower-cased identifier ({@code source}). */
    public static String lowerCaseIdentifier(String field, String value) {
        try {
            return Identifiers.normalizeLowerCase(field, value);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        }
    }

    /** Free text within {@code maxLength} code points; null stays null. */
    public static String text(String field, String value, int maxLength) {
        try {
            return Identifiers.text(field, value, maxLength);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        }
    }

    /**
     * A quantity from a JSON number or a string holding an ASCII decimal ({@link Quantities#parse}), exact and
     * never negative ({@link EventRules#quantity}).
     */
    public BigDecimal quantity(String field, JsonNode value) {
        if (value == null) {
            throw new InvalidFieldException(field, "is required");
        }
        BigDecimal parsed;
        try {
            if (value.isTextual()) {
                parsed = Quantities.parse(value.textValue());
            } else if (value.isNumber()) {
                parsed = Quantities.exact(value.decimalValue());
            } else {
                throw new InvalidFieldException(field, "must be a decimal number or a string holding one, got " + JsonFields.describe(value));
            }
            return EventRules.quantity(field, parsed);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        } catch (InvalidFieldException e) {
            throw e;
        } catch (IllegalArgumentException e) { // Quantities names the limit, never the library
            throw new InvalidFieldException(field, e.getMessage());
        }
    }

    /** A whole number ≥ 0 that fits a 64-bit integer (protojson's int64: a JSON number or a string). */
    public BigDecimal nonNegativeInteger(String field, JsonNode value) {
        BigDecimal quantity = quantity(field, value);
        if (quantity.stripTrailingZeros().scale() > 0) {
            throw new InvalidFieldException(field, "must be a whole number, got " + quantity.stripTrailingZeros().toPlainString());
        }
        if (quantity.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new InvalidFieldException(field, "is larger than a 64-bit integer");
        }
        return quantity;
    }

    /** An RFC 3339 time ({@link EventTimes#parse}) the rules admit now ({@link EventRules#admitEventTime}). */
    public Instant eventTime(String field, String text, Instant now) {
        try {
            return rules.admitEventTime(field, EventTimes.parse(field, text), now);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        }
    }

    /** The receipt time (or any time the API chose), admitted by the same rule as a time the client sent. */
    public Instant admit(String field, Instant eventTime, Instant now) {
        try {
            return rules.admitEventTime(field, eventTime, now);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field);
        }
    }

    /**
     * A JSON object as a string map, checked by {@link EventRules#metadata}. Strings stay as they are; other values
     * (numbers, booleans, nested objects, as a protobuf Struct allows) become their JSON text unless
     * {@code stringValuesOnly}.
     */
    public static Map<String, String> metadata(String field, JsonNode value, boolean stringValuesOnly) {
        if (value == null) {
            return null;
        }
        if (!value.isObject()) {
            throw new InvalidFieldException(field, "must be a JSON object, got " + JsonFields.describe(value));
        }
        if (value.size() > EventRules.MAX_METADATA_ENTRIES) {
            throw new InvalidFieldException(field, "has more than " + EventRules.MAX_METADATA_ENTRIES + " entries");
        }
        Map<String, String> result = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> entries = value.fields();
        while (entries.hasNext()) {
            Map.Entry<String, JsonNode> entry = entries.next();
            JsonNode entryValue = entry.getValue();
            if (entryValue.isTextual()) {
                result.put(entry.getKey(), entryValue.textValue());
            } else if (stringValuesOnly) {
                throw new InvalidFieldException(field + "." + entry.getKey(), "must be a string, got " + JsonFields.describe(entryValue));
            } else {
                result.put(entry.getKey(), entryValue.toString());
            }
        }
        try {
            return EventRules.metadata(result);
        } catch (RuleViolation e) {
            throw InvalidFieldException.of(e, field + e.field().substring("metadata".length()));
        }
    }

    /**
     * The last word before producing: {@link EventRules#check} on the finished event (identifiers normalised in
     * place), so nothing the aggregator would refuse is acknowledged. {@code fieldName} turns the event's Avro field
     * name into the request's name for it.
     */
    public UsageEvent check(UsageEvent event, UnaryOperator<String> fieldName) {
        try {
            return rules.check(event);
        } catch (RuleViolation e) {
            String field = e.field().startsWith("metadata")
                    ? fieldName.apply("metadata") + e.field().substring("metadata".length())
                    : fieldName.apply(e.field());
            throw InvalidFieldException.of(e, field);
        }
    }
}
