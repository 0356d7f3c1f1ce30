package dev.metering.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EnvTest {
    private final Env env = new Env(Map.of("GRACE", "48h", "ISO", "PT30M", "BAD", "soon", "PORT", "x", "BLANK", "  ", "FLAG", "yes"));

    @Test
    void readsDurationsInBothNotations() {
        assertThat(env.duration("GRACE", Duration.ZERO)).isEqualTo(Duration.ofHours(48));
        assertThat(env.duration("ISO", Duration.ZERO)).isEqualTo(Duration.ofMinutes(30));
        assertThat(env.duration("UNSET", Duration.ofDays(35))).isEqualTo(Duration.ofDays(35));
    }

    @Test
    void badValuesNameTheVariable() {
        assertThatThrownBy(() -> env.duration("BAD", Duration.ZERO)).hasMessageStartingWith("BAD='soon' is not a duration");
        assertThatThrownBy(() -> env.integer("PORT", 1)).hasMessage("PORT='x' is not an integer");
        assertThatThrownBy(() -> env.required("BLANK")).hasMessage("BLANK must be set");
        assertThat(env.bool("FLAG", false)).isTrue();
    }

    @Test
    void remembersWhichVariablesWereRead() {
        Env fresh = new Env(Map.of("A", "1"));
        fresh.integer("A", 0);
        fresh.string("B", "default");
        assertThat(fresh.namesRead()).containsExactlyInAnyOrder("A", "B");
    }
}
