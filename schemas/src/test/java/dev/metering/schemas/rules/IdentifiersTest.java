package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IdentifiersTest {
    @Test
    void composedAndDecomposedAreOneIdentifier() {
        assertThat(Identifiers.normalize("feature_code", "cafe\u0301")).isEqualTo("caf\u00e9");
        assertThat(Identifiers.normalize("feature_code", "caf\u00e9")).isEqualTo("caf\u00e9");
    }

    @Test
    void refusesWhatPostgresCannotStoreOrCompare() {
        assertThatThrownBy(() -> Identifiers.normalize("event_id", "a\u0000b")).isInstanceOf(RuleViolation.class)
                .hasMessage("event_id holds a NUL character at character 1");
        assertThatThrownBy(() -> Identifiers.normalize("event_id", "s\ud800x")).hasMessageContaining("lone surrogate");
        assertThatThrownBy(() -> Identifiers.normalize("event_id", "x\udc00")).hasMessageContaining("lone surrogate");
        assertThatThrownBy(() -> Identifiers.normalize("event_id", "a\tb")).hasMessageContaining("control character U+0009");
        assertThatThrownBy(() -> Identifiers.normalize("event_id", "a\u0085b")).hasMessageContaining("control character U+0085");
        assertThat(Identifiers.normalize("event_id", "emoji-\ud83d\ude00")).isEqualTo("emoji-\ud83d\ude00");
    }

    @Test
    void blankIsMissingAndEdgesMayNotBeSpace() {
        for (String blank : new String[] {"", " ", "\u2003", "\u00a0 "}) {
            assertThatThrownBy(() -> Identifiers.normalize("billing_account_id", blank)).isInstanceOf(RuleViolation.class)
                    .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(RuleViolation.Kind.MISSING));
        }
        assertThatThrownBy(() -> Identifiers.normalize("billing_account_id", null))
                .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(RuleViolation.Kind.MISSING));
        assertThatThrownBy(() -> Identifiers.normalize("billing_account_id", " a")).hasMessageContaining("white space");
        assertThatThrownBy(() -> Identifiers.normalize("billing_account_id", "a\u2003")).hasMessageContaining("white space");
        assertThat(Identifiers.normalize("billing_account_id", "a b")).isEqualTo("a b");
    }

    @Test
    void lengthIsCountedInCharactersAfterNormalisationAndLowerCasing() {
        assertThat(Identifiers.normalize("id", "x".repeat(100))).hasSize(100);
        assertThatThrownBy(() -> Identifiers.normalize("id", "x".repeat(101))).hasMessage("id is longer than 100 characters");
        // 100 astral characters are 200 UTF-16 units but 100 characters.
        assertThat(Identifiers.normalize("id", "\ud83d\ude00".repeat(100))).hasSize(200);
        // 'e' + combining acute composes into one character: 101 characters become 100 after NFC.
        assertThat(Identifiers.normalize("id", "x".repeat(99) + "e\u0301")).endsWith("\u00e9");
        // İ lower-cases to i + combining dot (two characters): 100 of them are 200 characters.
        assertThat(Identifiers.normalizeLowerCase("source", "\u0130".repeat(50))).hasSize(100);
        assertThatThrownBy(() -> Identifiers.normalizeLowerCase("source", "\u0130".repeat(51))).hasMessageContaining("longer than 100");
        assertThat(Identifiers.normalizeLowerCase("source", "API_Calls")).isEqualTo("api_calls");
    }

    @Test
    void textAllowsLineBreaksButNotNulOrBrokenUnicode() {
        assertThat(Identifiers.text("description", "line 1\nline 2\ttab", 1000)).contains("\n");
        assertThatThrownBy(() -> Identifiers.text("description", "a\u0000", 1000)).hasMessageContaining("NUL");
        assertThatThrownBy(() -> Identifiers.text("description", "a\ud800", 1000)).hasMessageContaining("surrogate");
        assertThatThrownBy(() -> Identifiers.text("description", "a\u0007", 1000)).hasMessageContaining("U+0007");
        assertThatThrownBy(() -> Identifiers.text("description", "abc", 2)).hasMessageContaining("longer than 2");
    }
}
