package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link EventTimes#parse} agrees with its definition as a regular expression plus {@code java.time} (the implementation
 * it replaced): the same instant or the same refusal, for texts near and across the grammar's edges.
 */
class EventTimesPropertyTest {
    private static final Pattern RFC_3339 = Pattern.compile(
            "([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\\.[0-9]{1,9})?"
                    + "([Zz]|([+-])([0-9]{2})(?::([0-9]{2}))?)");

    @Property(tries = 20000)
    void agreesWithTheRegularExpression(@ForAll("timestampLike") String text) {
        Object expected = outcome(() -> referenceParse("event_time", text));
        net.jqwik.api.statistics.Statistics.collect(expected instanceof Instant ? "parsed" : "refused");
        assertThat(outcome(() -> EventTimes.parse("event_time", text))).as("'%s'", text).isEqualTo(expected);
    }

    @Provide
    Arbitrary<String> timestampLike() {
        Arbitrary<String> year = mostly(Arbitraries.integers().between(0, 9999).map(y -> String.format("%04d", y)), Arbitraries.of("202", "20x5", "\u0662025"));
        Arbitrary<String> month = twoDigits(0, 13);
        Arbitrary<String> day = twoDigits(0, 32);
        Arbitrary<String> hour = twoDigits(0, 24);
        Arbitrary<String> minute = twoDigits(0, 60);
        Arbitrary<String> fraction = Arbitraries.oneOf(Arbitraries.just(""), Arbitraries.just("."),
                Arbitraries.strings().withChars("0123456789").ofMinLength(1).ofMaxLength(11).map(f -> "." + f));
        Arbitrary<String> numericOffset = Arbitraries.of("+", "-").flatMap(sign -> twoDigits(0, 24).flatMap(h ->
                Arbitraries.of("", ":", ":", "::").flatMap(colon -> colon.isEmpty() ? Arbitraries.just(sign + h) : minute.map(m -> sign + h + colon + m))));
        Arbitrary<String> offset = mostly(Arbitraries.oneOf(Arbitraries.of("Z", "z"), numericOffset),
                Arbitraries.of("", "+", "-", "Zz", "+00:00:30", "UTC", "+1"));
        Arbitrary<String> well = net.jqwik.api.Combinators.combine(List.of(year, month, day, mostly(Arbitraries.of("T", "t", " "), Arbitraries.of("_", "x")),
                        hour, minute, minute, fraction, offset))
                .as(parts -> parts.get(0) + "-" + parts.get(1) + "-" + parts.get(2) + parts.get(3) + parts.get(4) + ":" + parts.get(5)
                        + ":" + parts.get(6) + parts.get(7) + parts.get(8));
        Arbitrary<String> misplaced = Arbitraries.strings().withChars("0123456789-:T.Z+ ").ofMinLength(18).ofMaxLength(30);
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(9, well), net.jqwik.api.Tuple.of(1, misplaced));
    }

    /** Two ASCII digits from {@code min} to {@code max}, or now and then something that is not. */
    private static Arbitrary<String> twoDigits(int min, int max) {
        return mostly(Arbitraries.integers().between(min, max).map(n -> String.format("%02d", n)), Arbitraries.of("1", "123", "a1", "\u0661\u0662"));
    }

    private static Arbitrary<String> mostly(Arbitrary<String> usual, Arbitrary<String> odd) {
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(15, usual), net.jqwik.api.Tuple.of(1, odd));
    }

    private static Object outcome(java.util.function.Supplier<Instant> parse) {
        try {
            return parse.get();
        } catch (RuleViolation e) {
            return e.getMessage();
        }
    }

    /** EventTimes.parse as a regular expression and java.time, before it was read by hand. */
    private static Instant referenceParse(String field, String text) {
        Matcher m = text == null || text.length() > 64 ? null : RFC_3339.matcher(text);
        if (m == null || !m.matches()) {
            throw invalid(field, text);
        }
        try {
            int nanos = 0;
            if (m.group(7) != null) {
                nanos = Integer.parseInt((m.group(7).substring(1) + "000000000").substring(0, 9));
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
