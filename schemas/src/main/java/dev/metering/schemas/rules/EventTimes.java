package dev.metering.schemas.rules;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * RFC 3339 timestamps ({@code 2025-01-31T12:00:00Z}, {@code 2025-01-31t12:00:00.5+02:00}), plus the hour-only
 * offset of Kinde's documentation example ({@code +02}). Nothing else: no offsets with seconds, no missing
 * seconds, no local times. Precision beyond milliseconds is dropped (events carry milliseconds).
 */
public final class EventTimes {
    private static final Pattern RFC_3339 = Pattern.compile(
            "([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\\.[0-9]{1,9})?"
                    + "([Zz]|([+-])([0-9]{2})(?::([0-9]{2}))?)");

    private EventTimes() {
    }

    /** @throws RuleViolation INVALID naming the expected shape */
    public static Instant parse(String field, String text) {
        Matcher m = text == null || text.length() > 64 ? null : RFC_3339.matcher(text);
        if (m == null || !m.matches()) {
            throw invalid(field, text);
        }
        try {
            int nanos = 0;
            if (m.group(7) != null) {
                String fraction = (m.group(7).substring(1) + "000000000").substring(0, 9);
                nanos = Integer.parseInt(fraction);
            }
            LocalDateTime local = LocalDateTime.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)), Integer.parseInt(m.group(6)), nanos);
            ZoneOffset offset = ZoneOffset.UTC;
            if (m.group(9) != null) {
                int hours = Integer.parseInt(m.group(10));
                int minutes = m.group(11) == null ? 0 : Integer.parseInt(m.group(11));
                if (hours > 23 || minutes > 59) {
                    throw invalid(field, text);
                }
                int sign = m.group(9).equals("-") ? -1 : 1;
                offset = ZoneOffset.ofHoursMinutes(sign * hours, sign * minutes);
            }
            return local.toInstant(offset).truncatedTo(ChronoUnit.MILLIS);
        } catch (DateTimeException e) {
            throw invalid(field, text);
        }
    }

    private static RuleViolation invalid(String field, String text) {
        String shown = text == null ? "nothing" : "'" + (text.length() <= 40 ? text : text.substring(0, 40) + "...") + "'";
        return new RuleViolation(field, RuleViolation.Kind.INVALID, "is not an RFC 3339 timestamp like 2025-01-31T12:00:00Z: " + shown);
    }
}
