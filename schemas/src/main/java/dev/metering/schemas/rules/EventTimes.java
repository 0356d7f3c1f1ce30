package dev.metering.schemas.rules;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * RFC 3339 timestamps ({@code 2025-01-31T12:00:00Z}, {@code 2025-01-31t12:00:00.5+02:00}), plus the hour-only
 * offset of Kinde's documentation example ({@code +02}). Nothing else: no offsets with seconds, no missing
 * seconds, no local times. Precision beyond milliseconds is dropped (events carry milliseconds).
 *
 * <p>The grammar, read by hand rather than with a regular expression because it runs for every event:
 * {@code [0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}(:[0-9]{2})?)}.
 */
public final class EventTimes {
    private static final int MAX_FRACTION_DIGITS = 9;
    private static final int NANOS_PER_MILLI = 1_000_000;

    private EventTimes() {
    }

    /** @throws RuleViolation INVALID naming the expected shape */
    public static Instant parse(String field, String text) {
        if (text == null || text.length() > 64 || text.length() < 20) {
            throw invalid(field, text);
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        char dateTimeSeparator = text.charAt(10);
        if ((year | month | day | hour | minute | second) < 0 || text.charAt(4) != '-' || text.charAt(7) != '-'
                || (dateTimeSeparator != 'T' && dateTimeSeparator != 't' && dateTimeSeparator != ' ')
                || text.charAt(13) != ':' || text.charAt(16) != ':') {
            throw invalid(field, text);
        }
        int i = 19;
        int nanos = 0;
        if (text.charAt(i) == '.') {
            int start = ++i;
            while (i < text.length() && i - start < MAX_FRACTION_DIGITS && isDigit(text.charAt(i))) {
                nanos = nanos * 10 + (text.charAt(i++) - '0');
            }
            if (i == start) {
                throw invalid(field, text);
            }
            for (int scale = i - start; scale < MAX_FRACTION_DIGITS; scale++) {
                nanos *= 10;
            }
        }
        try {
            ZoneOffset offset = offset(text, i);
            if (offset == null) {
                throw invalid(field, text);
            }
            long epochSecond = LocalDateTime.of(year, month, day, hour, minute, second).toEpochSecond(offset);
            return Instant.ofEpochSecond(epochSecond, nanos - nanos % NANOS_PER_MILLI);
        } catch (DateTimeException e) {
            throw invalid(field, text);
        }
    }

    /** The offset that is all of {@code text} from {@code at} ({@code Z}, {@code +02}, {@code -01:30}), or null. */
    private static ZoneOffset offset(String text, int at) {
        int rest = text.length() - at;
        char first = rest > 0 ? text.charAt(at) : 0;
        if (rest == 1 && (first == 'Z' || first == 'z')) {
            return ZoneOffset.UTC;
        }
        if ((first != '+' && first != '-') || (rest != 3 && rest != 6)) {
            return null;
        }
        int hours = digits(text, at + 1, 2);
        int minutes = rest == 3 ? 0 : text.charAt(at + 3) == ':' ? digits(text, at + 4, 2) : -1;
        if (hours < 0 || minutes < 0 || hours > 23 || minutes > 59) {
            return null;
        }
        int sign = first == '-' ? -1 : 1;
        return ZoneOffset.ofHoursMinutes(sign * hours, sign * minutes);
    }

    /** The number the {@code count} ASCII digits at {@code from} spell, or -1 when one of them is no ASCII digit. */
    private static int digits(String text, int from, int count) {
        int value = 0;
        for (int i = from; i < from + count; i++) {
            char c = text.charAt(i);
            if (!isDigit(c)) {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static RuleViolation invalid(String field, String text) {
        String shown = text == null ? "nothing" : "'" + (text.length() <= 40 ? text : text.substring(0, 40) + "...") + "'";
        return new RuleViolation(field, RuleViolation.Kind.INVALID, "is not an RFC 3339 timestamp like 2025-01-31T12:00:00Z: " + shown);
    }
}
