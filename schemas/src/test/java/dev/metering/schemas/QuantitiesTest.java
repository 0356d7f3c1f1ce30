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
        assertThatThrownBy(() -> Quantities.parse(" ")).hasMessageContaining("empty");
    }
}
