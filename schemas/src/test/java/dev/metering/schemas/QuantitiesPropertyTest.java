package dev.metering.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Quantities#parse} and {@link Quantities#exact} agree with their plain definitions (a regular expression, and
 * strip-then-check), on texts near the grammar's edges: the same value, or the same refusal.
 */
class QuantitiesPropertyTest {
    private static final Pattern DECIMAL_TEXT = Pattern.compile("-?[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

    @Property(tries = 5000)
    void grammarIsTheRegularExpression(@ForAll("decimalLike") String text) {
        assertThat(Quantities.isDecimalText(text)).as("'%s'", text).isEqualTo(DECIMAL_TEXT.matcher(text).matches());
    }

    @Property(tries = 5000)
    void parseAgreesWithStripThenCheck(@ForAll("decimalLike") String text) {
        assertThat(outcome(() -> Quantities.parse(text))).as("'%s'", text).isEqualTo(outcome(() -> referenceParse(text)));
    }

    @Property(tries = 5000)
    void exactAgreesWithStripThenCheck(@ForAll("decimals") BigDecimal value) {
        assertThat(outcome(() -> Quantities.exact(value))).as("%s", value).isEqualTo(outcome(() -> referenceExact(value)));
    }

    @Provide
    Arbitrary<String> decimalLike() {
        Arbitrary<String> noise = Arbitraries.strings().withChars("0123456789.-+eE x\u0663").ofMaxLength(14);
        Arbitrary<String> digits = Arbitraries.strings().withChars("0123456789").ofMinLength(1).ofMaxLength(30);
        Arbitrary<String> shaped = net.jqwik.api.Combinators.combine(
                        Arbitraries.of("", "-"), digits, Arbitraries.of("", ".").flatMap(dot -> dot.isEmpty() ? Arbitraries.just("") : digits.map(d -> "." + d)),
                        Arbitraries.of("", "e", "E-", "e+", "E").flatMap(e -> e.isEmpty() ? Arbitraries.just("") : Arbitraries.integers().between(0, 40).map(x -> e + x)))
                .as((sign, integer, fraction, exponent) -> sign + integer + fraction + exponent);
        return Arbitraries.oneOf(noise, shaped, shaped);
    }

    @Provide
    Arbitrary<BigDecimal> decimals() {
        return Arbitraries.bigIntegers().between(new java.math.BigInteger("-" + "9".repeat(40)), new java.math.BigInteger("9".repeat(40)))
                .flatMap(unscaled -> Arbitraries.integers().between(-30, 30).map(scale -> new BigDecimal(unscaled, scale)));
    }

    /** The value, or the refusal's message. */
    private static Object outcome(java.util.function.Supplier<BigDecimal> parse) {
        try {
            BigDecimal value = parse.get();
            return value.unscaledValue() + "E-" + value.scale();
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The definitions before their fast paths. */
    private static BigDecimal referenceParse(String text) {
        if (text.isEmpty()) {
            throw new IllegalArgumentException("is empty");
        }
        if (text.length() > 100) {
            throw new IllegalArgumentException("is not a decimal number of at most 38 digits");
        }
        if (!DECIMAL_TEXT.matcher(text).matches()) {
            throw new IllegalArgumentException("is not a decimal number (ASCII digits, like 12 or 12.5): '" + text + "'");
        }
        BigDecimal parsed = new BigDecimal(text);
        if (parsed.signum() != 0 && (parsed.precision() - parsed.scale() > 26 || -parsed.scale() > 38)) {
            throw new IllegalArgumentException("has more than 26 digits before the decimal point");
        }
        return referenceExact(parsed);
    }

    private static BigDecimal referenceExact(BigDecimal value) {
        BigDecimal stripped = value.stripTrailingZeros();
        if (stripped.scale() > 12) {
            throw new IllegalArgumentException("has more than 12 digits after the decimal point");
        }
        if (stripped.precision() - stripped.scale() > 26) {
            throw new IllegalArgumentException("has more than 26 digits before the decimal point");
        }
        return value.setScale(12, RoundingMode.UNNECESSARY);
    }
}
