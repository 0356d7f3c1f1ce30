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

    private Quantities() {
    }

    /**
     * The value at the schema's scale.
     *
     * @throws IllegalArgumentException naming the limit the value breaks
     */
    public static BigDecimal exact(BigDecimal value) {
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

    /**
     * Parses a decimal string (plain or scientific notation, as JSON allows) exactly.
     *
     * @throws IllegalArgumentException for NaN, Infinity, empty or malformed text, or a value out of range
     */
    public static BigDecimal parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("is empty");
        }
        String trimmed = text.strip();
        if (trimmed.length() > 100) {
            throw new IllegalArgumentException("is not a decimal number of at most " + PRECISION + " digits");
        }
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

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }
}
