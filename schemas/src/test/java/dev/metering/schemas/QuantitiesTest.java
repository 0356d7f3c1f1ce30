package dev.metering.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

class QuantitiesTest {
    @Test
    void parsesExactlyAtScaleTwelve() {
        assertThat(Quantities.parse("0.1").add(Quantities.parse("0.2"))).isEqualTo(new BigDecimal("0.300000000000"));
        assertThat(Quantities.parse("1e3")).isEqualTo(new BigDecimal("1000.000000000000"));
        assertThat(Quantities.parse("99999999999999999999999999.999999999999").precision()).isEqualTo(38);
    }

    @Test
    void refusesWhatWouldBeRoundedOrOverflow() {
        assertThatThrownBy(() -> Quantities.parse("0.0000000000001")).hasMessageContaining("12 digits after");
        assertThatThrownBy(() -> Quantities.parse("100000000000000000000000000")).hasMessageContaining("26 digits before");
        assertThatThrownBy(() -> Quantities.parse("1e999999999")).hasMessageContaining("digits before");
        assertThatThrownBy(() -> Quantities.parse("NaN")).hasMessageContaining("not a decimal");
        assertThatThrownBy(() -> Quantities.parse("Infinity")).hasMessageContaining("not a decimal");
        assertThatThrownBy(() -> Quantities.parse("")).hasMessageContaining("empty");
    }

    @Test
    void acceptsOnlyAsciiDecimalsAsDocumented() {
        for (String bad : new String[] {" ", " 1", "1 ", "+1", "1.", ".5", "\u0663", "\uFF11", "1,5", "0x10", "1e", "--1"}) {
            assertThatThrownBy(() -> Quantities.parse(bad)).as("'%s'", bad).hasMessageContaining("not a decimal");
        }
        assertThat(Quantities.parse("007")).isEqualByComparingTo("7");
        assertThat(Quantities.parse("-1.5E-3")).isEqualByComparingTo("-0.0015");
    }

    @Test
    void sumsHaveTwelveMoreIntegerDigitsThanEvents() {
        BigDecimal largest = Quantities.parse("99999999999999999999999999.999999999999");
        BigDecimal trillionOfThem = largest.multiply(BigDecimal.TEN.pow(12));
        assertThat(Quantities.exactSum(trillionOfThem)).isEqualByComparingTo(trillionOfThem);
        assertThatThrownBy(() -> Quantities.exactSum(trillionOfThem.multiply(BigDecimal.TEN))).hasMessageContaining("38 digits before");
    }
}
