package dev.metering.ingest.validation;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.schemas.Quantities;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The rules every API applies to the values of an event: exact quantities, ids, and event times that are
 * neither in the future (beyond a small clock skew) nor older than the accepted lateness.
 */
public final class EventRules {
    /** Events further ahead than this are refused: a clock is wrong somewhere. */
    public static final Duration MAX_FUTURE = Duration.ofMinutes(5);
    public static final int MAX_ID_LENGTH = 100;
    public static final int MAX_TEXT_LENGTH = 1000;
    public static final int MAX_METADATA_ENTRIES = 100;

    private final Clock clock;
    private final Duration gracePeriod;

    public EventRules(Clock clock, Duration gracePeriod) {
        this.clock = clock;
        this.gracePeriod = gracePeriod;
    }

    /** Now, at the millisecond precision the events carry. */
    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /**
     * Parses an RFC 3339 timestamp ({@code 2025-01-31T12:00:00Z}, {@code ...+02:00}, fractions allowed) and
     * checks it with {@link #checkEventTime}. Precision beyond milliseconds is dropped (the schema keeps millis).
     */
    public Instant eventTime(String field, String text, Instant now) {
        Instant parsed;
        try {
            parsed = OffsetDateTime.parse(text.toUpperCase(Locale.ROOT), DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw new InvalidFieldException(field, "is not an RFC 3339 timestamp like 2025-01-31T12:00:00Z: '" + abbreviate(text) + "'");
        }
        return checkEventTime(field, parsed.truncatedTo(ChronoUnit.MILLIS), now);
    }

    public Instant checkEventTime(String field, Instant eventTime, Instant now) {
        if (eventTime.isAfter(now.plus(MAX_FUTURE))) {
            throw new InvalidFieldException(field, "is more than " + MAX_FUTURE.toMinutes() + " minutes in the future: " + eventTime,
                    InvalidFieldException.Reason.FUTURE);
        }
        if (eventTime.isBefore(now.minus(gracePeriod))) {
            throw new InvalidFieldException(field, "is older than the accepted lateness of " + humanize(gracePeriod) + ": " + eventTime,
                    InvalidFieldException.Reason.LATE);
        }
        return eventTime;
    }

    /**
     * A quantity from a JSON number or a string holding a decimal, exactly: no floats, no NaN or Infinity, at
     * most 26 integer and 12 fractional digits, never negative.
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
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, e.getMessage());
        }
        if (parsed.signum() < 0) {
            throw new InvalidFieldException(field, "must not be negative, got " + parsed.stripTrailingZeros().toPlainString());
        }
        return parsed;
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

    /**
     * A JSON object as a string map. Strings stay as they are; other values (numbers, booleans, nested objects, as
     * a protobuf Struct allows) become their JSON text, so nothing is lost.
     */
    public Map<String, String> metadata(String field, JsonNode value, boolean stringValuesOnly) {
        if (value == null) {
            return null;
        }
        if (!value.isObject()) {
            throw new InvalidFieldException(field, "must be a JSON object, got " + JsonFields.describe(value));
        }
        if (value.size() > MAX_METADATA_ENTRIES) {
            throw new InvalidFieldException(field, "has more than " + MAX_METADATA_ENTRIES + " entries");
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
        return result;
    }

    public Duration gracePeriod() {
        return gracePeriod;
    }

    static String humanize(Duration duration) {
        if (duration.toSeconds() % 3600 == 0) {
            return duration.toHours() + "h";
        }
        if (duration.toSeconds() % 60 == 0) {
            return duration.toMinutes() + "m";
        }
        return duration.toSeconds() + "s";
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
