package dev.metering.ops;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed reads of configuration from environment variables. Every bad value fails at start with a
 * message that names the variable and shows what is expected.
 */
public final class Env {
    private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private final Map<String, String> variables;
    private final Set<String> namesRead = ConcurrentHashMap.newKeySet();

    public Env(Map<String, String> variables) {
        this.variables = Map.copyOf(variables);
    }

    /** The process environment. */
    public static Env system() {
        return new Env(System.getenv());
    }

    /** The value, or null when unset or blank. */
    public String optional(String name) {
        namesRead.add(name);
        String value = variables.get(name);
        return value == null || value.isBlank() ? null : value.strip();
    }

    public String string(String name, String defaultValue) {
        String value = optional(name);
        return value == null ? defaultValue : value;
    }

    public String required(String name) {
        String value = optional(name);
        if (value == null) {
            throw new IllegalArgumentException(name + " must be set");
        }
        return value;
    }

    public int integer(String name, int defaultValue) {
        String value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "='" + value + "' is not an integer");
        }
    }

    public int positiveInteger(String name, int defaultValue) {
        int value = integer(name, defaultValue);
        if (value <= 0) {
            throw new IllegalArgumentException(name + "=" + value + " must be greater than 0");
        }
        return value;
    }

    public long longValue(String name, long defaultValue) {
        String value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "='" + value + "' is not an integer");
        }
    }

    public boolean bool(String name, boolean defaultValue) {
        String value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new IllegalArgumentException(name + "='" + value + "' is not a boolean (true/false)");
        };
    }

    /** A duration as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 48h}, {@code 35d} or ISO-8601 ({@code PT48H}). */
    public Duration duration(String name, Duration defaultValue) {
        String value = optional(name);
        if (value == null) {
            return defaultValue;
        }
        try {
            return parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + "='" + value + "' is not a duration like 500ms, 30s, 5m, 48h, 35d or PT48H");
        }
    }

    /**
     * Every variable name a config has asked for so far, set or not: the variables a service actually
     * reads, so deployment files can be checked against them.
     */
    public Set<String> namesRead() {
        return Set.copyOf(namesRead);
    }

    static Duration parseDuration(String text) {
        Matcher simple = SIMPLE_DURATION.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (simple.matches()) {
            long amount = Long.parseLong(simple.group(1));
            return switch (simple.group(2)) {
                case "ms" -> Duration.ofMillis(amount);
                case "s" -> Duration.ofSeconds(amount);
                case "m" -> Duration.ofMinutes(amount);
                case "h" -> Duration.ofHours(amount);
                default -> Duration.ofDays(amount);
            };
        }
        try {
            return Duration.parse(text.strip().toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
