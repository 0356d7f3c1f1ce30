package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Identifiers#normalize} and {@link Identifiers#text} agree with the full rules (the same methods without their
 * printable-ASCII shortcut): the same value or the same refusal, for ASCII-heavy strings with spaces, controls,
 * surrogates and non-ASCII letters mixed in, around the length limits.
 */
class IdentifiersPropertyTest {
    @Property(tries = 10000)
    void normalizeAgreesWithTheFullRules(@ForAll("identifierLike") String value) {
        assertThat(outcome(() -> Identifiers.normalize("event_id", value)))
                .isEqualTo(outcome(() -> Identifiers.normalizeByTheFullRules("event_id", value)));
    }

    @Property(tries = 10000)
    void textAgreesWithTheFullRules(@ForAll("identifierLike") String value) {
        assertThat(outcome(() -> Identifiers.text("user_id", value, 100)))
                .isEqualTo(outcome(() -> Identifiers.textByTheFullRules("user_id", value, 100)));
    }

    @Provide
    Arbitrary<String> identifierLike() {
        Arbitrary<Character> usual = Arbitraries.chars().range(' ', '~');
        Arbitrary<Character> odd = Arbitraries.of('\u0000', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u00a0', '\u2003', '\u00e9',
                'e', '\u0301', '\ud800', '\udc00', ' ');
        Arbitrary<Character> any = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(30, usual), net.jqwik.api.Tuple.of(1, odd));
        return Arbitraries.oneOf(any.list().ofMaxSize(12).map(IdentifiersPropertyTest::join),
                any.list().ofMinSize(95).ofMaxSize(105).map(IdentifiersPropertyTest::join));
    }

    private static String join(java.util.List<Character> chars) {
        StringBuilder out = new StringBuilder();
        chars.forEach(out::append);
        return out.toString();
    }

    private static Object outcome(Supplier<String> rule) {
        try {
            return rule.get();
        } catch (RuleViolation e) {
            return e.kind() + " " + e.getMessage();
        }
    }
}
