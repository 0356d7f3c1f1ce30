package dev.metering.query;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.ArrayList;
import java.util.List;

/**
 * Windows in a time zone, composed from UTC hours. A window of a zone is a union of whole UTC hours exactly when
 * the zone's offset is a whole number of hours at every instant of the range; otherwise the API refuses the zone.
 */
final class Windows {
    /** {@code null} window size (one total for the range) is represented by {@link #TOTAL}. */
    enum Size { HOUR, DAY, MONTH, TOTAL }

    private Windows() {
    }

    /**
     * Whether every offset the zone uses in [from, to) is a whole number of hours.
     *
     * @return null when it is, otherwise the first offending offset
     */
    static ZoneOffset firstFractionalOffset(ZoneId zone, Instant from, Instant to) {
        ZoneRules rules = zone.getRules();
        ZoneOffset offset = rules.getOffset(from);
        if (offset.getTotalSeconds() % 3600 != 0) {
            return offset;
        }
        ZoneOffsetTransition transition = rules.nextTransition(from);
        while (transition != null && transition.getInstant().isBefore(to)) {
            if (transition.getOffsetAfter().getTotalSeconds() % 3600 != 0) {
                return transition.getOffsetAfter();
            }
            transition = rules.nextTransition(transition.getInstant());
        }
        return null;
    }

    /**
     * Whether every window of the query, and so the range, is a union of whole UTC days: days or months in UTC, or one
     * total from a UTC midnight to a UTC midnight.
     */
    static boolean wholeUtcDays(Size size, ZoneId zone, Instant from, Instant to) {
        return switch (size) {
            case HOUR -> false;
            case DAY, MONTH -> zone.normalized().equals(ZoneOffset.UTC);
            case TOTAL -> from.equals(from.truncatedTo(ChronoUnit.DAYS)) && to.equals(to.truncatedTo(ChronoUnit.DAYS));
        };
    }

    /** The start of the window of the given size in the zone that holds the instant. */
    static Instant windowStart(Size size, ZoneId zone, Instant instant) {
        return switch (size) {
            case HOUR -> instant.truncatedTo(ChronoUnit.HOURS);
            case DAY -> instant.atZone(zone).toLocalDate().atStartOfDay(zone).toInstant();
            case MONTH -> instant.atZone(zone).toLocalDate().withDayOfMonth(1).atStartOfDay(zone).toInstant();
            case TOTAL -> throw new IllegalArgumentException("a total has no windows");
        };
    }

    /** The start of the window after the one starting at {@code start}. */
    static Instant nextWindowStart(Size size, ZoneId zone, Instant start) {
        return switch (size) {
            case HOUR -> start.plus(Duration.ofHours(1));
            case DAY -> {
                LocalDate day = start.atZone(zone).toLocalDate();
                yield day.plusDays(1).atStartOfDay(zone).toInstant();
            }
            case MONTH -> {
                LocalDate month = start.atZone(zone).toLocalDate().withDayOfMonth(1);
                yield month.plusMonths(1).atStartOfDay(zone).toInstant();
            }
            case TOTAL -> throw new IllegalArgumentException("a total has no windows");
        };
    }

    /** The window boundaries from {@code from} (a window start) to {@code to} (a window start): n windows, n + 1 instants. */
    static List<Instant> boundaries(Size size, ZoneId zone, Instant from, Instant to) {
        List<Instant> bounds = new ArrayList<>();
        if (size == Size.TOTAL) {
            return List.of(from, to);
        }
        Instant start = from;
        while (start.isBefore(to)) {
            bounds.add(start);
            start = nextWindowStart(size, zone, start);
        }
        bounds.add(to);
        return bounds;
    }
}
