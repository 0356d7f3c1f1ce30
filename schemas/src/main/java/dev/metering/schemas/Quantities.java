package dev.metering.schemas;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Quantities are exact decimals of precision 38 and scale 12 (the {@code decimal} logical type of the
 * schemas): at most 26 digits before the point and 12 after. Everything that builds a quantity goes
 * through {@link #exact(BigDecimal)}, so nothing is ever rounded silently.
 */
public final class Quantities {
    public static final int PRECISION = 38;
    public static final int SCALE = 12;
    public static final int MAX_INTEGER_DIGITS = PRECISION - SCALE;
    public static final BigDecimal ZERO = BigDecimal.ZERO.setScale(SCALE);
    /**
     * Rollup sums (quantity_sum, billable_quantity) have 12 more integer digits than an event: 10^12 events of
     * the largest quantity fit, so no sequence of valid events overflows a window.
     */
    public static final int SUM_PRECISION = 50;
    public static final int MAX_SUM_INTEGER_DIGITS = SUM_PRECISION - SCALE;
    private Quantities() {
    }

    /**
     * The value at the schema's scale.
     *
     * @throws IllegalArgumentException naming the limit the value breaks
     */
    public static BigDecimal exact(BigDecimal value) {
        // Fits as it is (the common case, and every value exact() returned): stripping trailing zeros lowers the scale
        // but keeps precision - scale, so the checks below would pass; skip the costly strip.
        if (value.scale() <= SCALE && value.precision() - value.scale() <= MAX_INTEGER_DIGITS) {
            return value.setScale(SCALE, RoundingMode.UNNECESSARY);
        }
        BigDecimal stripped = value.stripTrailingZeros();
        if (stripped.scale() > SCALE) {
            throw new IllegalArgumentException("has more than " + SCALE + " digits after the decimal point");
        }
        int integerDigits = stripped.precision() - stripped.scale();
        if (integerDigits > MAX_INTEGER_DIGITS) {
            throw new IllegalArgumentException("has more than " + MAX_INTEGER_DIGITS + " digits before the decimal point");
        }
        return value.setScale(SCALE, RoundingMode.UNNECESSARY);
    }

    /** A rollup sum at the schema's scale, within {@link #SUM_PRECISION} digits. */
    public static BigDecimal exactSum(BigDecimal value) {
        BigDecimal stripped = value.stripTrailingZeros();
        if (stripped.scale() > SCALE) {
            throw new IllegalArgumentException("has more than " + SCALE + " digits after the decimal point");
        }
        if (stripped.precision() - stripped.scale() > MAX_SUM_INTEGER_DIGITS) {
            throw new IllegalArgumentException("has more than " + MAX_SUM_INTEGER_DIGITS + " digits before the decimal point");
        }
        return value.setScale(SCALE, RoundingMode.UNNECESSARY);
    }

    /**
     * Parses a decimal string exactly: ASCII digits with an optional leading minus, fraction and exponent, as
     * JSON writes numbers ({@code 12}, {@code 12.5}, {@code 1e3}). No sign {@code +}, no white space, no
     * {@code 1.} or {@code .5}, no other digits than 0-9.
     *
     * @throws IllegalArgumentException for NaN, Infinity, empty or malformed text, or a value out of range
     */
    public static BigDecimal parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("is empty");
        }
        if (text.length() > 100) {
            throw new IllegalArgumentException("is not a decimal number of at most " + PRECISION + " digits");
        }
        if (!isDecimalText(text)) {
            throw new IllegalArgumentException("is not a decimal number (ASCII digits, like 12 or 12.5): '" + abbreviate(text) + "'");
        }
        String trimmed = text;
        BigDecimal parsed;
        try {
            parsed = new BigDecimal(trimmed);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("is not a decimal number: '" + abbreviate(trimmed) + "'");
        }
        // A huge exponent ("1e999999999") would make setScale allocate gigabytes; refuse it before that.
        if (parsed.signum() != 0 && (parsed.precision() - parsed.scale() > MAX_INTEGER_DIGITS || -parsed.scale() > PRECISION)) {
            throw new IllegalArgumentException("has more than " + MAX_INTEGER_DIGITS + " digits before the decimal point");
        }
        return exact(parsed);
    }

    /**
     * Whether the text is a decimal as JSON writes numbers, leading zeros allowed: {@code -?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?}
     * (a loop rather than that regular expression: this runs for every quantity sent as a string).
     */
    static boolean isDecimalText(String text) {
        int length = text.length();
        int i = text.startsWith("-") ? 1 : 0;
        int end = skipDigits(text, i);
        if (end == i) {
            return false;
        }
        i = end;
        if (i < length && text.charAt(i) == '.') {
            end = skipDigits(text, i + 1);
            if (end == i + 1) {
                return false;
            }
            i = end;
        }
        if (i < length && (text.charAt(i) == 'e' || text.charAt(i) == 'E')) {
            i++;
            if (i < length && (text.charAt(i) == '+' || text.charAt(i) == '-')) {
                i++;
            }
            end = skipDigits(text, i);
            if (end == i) {
                return false;
            }
            i = end;
        }
        return i == length;
    }

    /** The index of the first character at or after {@code from} that is no ASCII digit. */
    private static int skipDigits(String text, int from) {
        int i = from;
        while (i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            i++;
        }
        return i;
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
