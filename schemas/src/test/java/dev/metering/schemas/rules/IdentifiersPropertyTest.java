package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;

import java.text.Normalizer;
import java.util.Locale;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Identifiers#normalize} and {@link Identifiers#text} agree with the rules as first written (without the
 * printable-ASCII shortcut): the same value or the same refusal, for ASCII-heavy strings with spaces, controls,
 * surrogates and non-ASCII letters mixed in, around the length limits.
 */
class IdentifiersPropertyTest {
    @Property(tries = 10000)
    void normalizeAgreesWithTheRulesAsFirstWritten(@ForAll("identifierLike") String value) {
        assertThat(outcome(() -> Identifiers.normalize("event_id", value))).isEqualTo(outcome(() -> Reference.normalize("event_id", value)));
    }

    @Property(tries = 10000)
    void textAgreesWithTheRulesAsFirstWritten(@ForAll("identifierLike") String value) {
        assertThat(outcome(() -> Identifiers.text("user_id", value, 100))).isEqualTo(outcome(() -> Reference.text("user_id", value, 100)));
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

    /** Identifiers before the shortcut. */
    private static final class Reference {
        static final int MAX_LENGTH = 100;

        static String normalize(String field, String value) {
            if (value == null) {
                throw new RuleViolation(field, RuleViolation.Kind.MISSING, "is required");
            }
            requireValidUnicode(field, value, true);
            // ASCII text is always in NFC (most identifiers are ASCII, and this is on every event's path).
            String normal = isAscii(value) ? value : Normalizer.normalize(value, Normalizer.Form.NFC);
            return checkShape(field, normal);
        }

        private static boolean isAscii(String value) {
            for (int i = 0; i < value.length(); i++) {
                if (value.charAt(i) >= 0x80) {
                    return false;
                }
            }
            return true;
        }

        /** Like {@link #normalize} but null stays null (the field is optional). */
        static String normalizeOptional(String field, String value) {
            return value == null ? null : normalize(field, value);
        }

        /** Frontier lower-cases its {@code source}: lower case (locale-independent), then NFC, then the length check. */
        static String normalizeLowerCase(String field, String value) {
            if (value == null) {
                throw new RuleViolation(field, RuleViolation.Kind.MISSING, "is required");
            }
            requireValidUnicode(field, value, true);
            return checkShape(field, Normalizer.normalize(value.toLowerCase(Locale.ROOT), Normalizer.Form.NFC));
        }

        /** Whether the value already is a valid identifier in normal form. */
        static boolean isNormalIdentifier(String value) {
            try {
                return normalize("value", value).equals(value);
            } catch (RuleViolation e) {
                return false;
            }
        }

        /**
         * Free text: null stays null; otherwise valid Unicode without NUL, at most {@code maxLength} code points.
         * Tabs and line breaks are allowed, other control characters are not.
         */
        static String text(String field, String value, int maxLength) {
            if (value == null) {
                return null;
            }
            requireValidUnicode(field, value, false);
            if (value.codePointCount(0, value.length()) > maxLength) {
                throw new RuleViolation(field, RuleViolation.Kind.INVALID, "is longer than " + maxLength + " characters");
            }
            return value;
        }

        private static String checkShape(String field, String normal) {
            if (normal.isEmpty() || isBlank(normal)) {
                throw new RuleViolation(field, RuleViolation.Kind.MISSING, "must not be empty or blank");
            }
            if (isSpace(normal.codePointAt(0)) || isSpace(normal.codePointBefore(normal.length()))) {
                throw new RuleViolation(field, RuleViolation.Kind.INVALID, "must not start or end with white space");
            }
            if (normal.codePointCount(0, normal.length()) > MAX_LENGTH) {
                throw new RuleViolation(field, RuleViolation.Kind.INVALID, "is longer than " + MAX_LENGTH + " characters");
            }
            return normal;
        }

        private static void requireValidUnicode(String field, String value, boolean identifier) {
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (Character.isHighSurrogate(c)) {
                    if (i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                        i++;
                        continue;
                    }
                    throw new RuleViolation(field, RuleViolation.Kind.INVALID, "holds a lone surrogate (invalid Unicode) at character " + i);
                }
                if (Character.isLowSurrogate(c)) {
                    throw new RuleViolation(field, RuleViolation.Kind.INVALID, "holds a lone surrogate (invalid Unicode) at character " + i);
                }
                if (c == 0) {
                    throw new RuleViolation(field, RuleViolation.Kind.INVALID, "holds a NUL character at character " + i);
                }
                if (Character.getType(c) == Character.CONTROL && (identifier || (c != '\t' && c != '\n' && c != '\r'))) {
                    throw new RuleViolation(field, RuleViolation.Kind.INVALID,
                            String.format(Locale.ROOT, "holds the control character U+%04X at character %d", (int) c, i));
                }
            }
        }

        private static boolean isBlank(String text) {
            for (int i = 0; i < text.length(); ) {
                int codePoint = text.codePointAt(i);
                if (!isSpace(codePoint)) {
                    return false;
                }
                i += Character.charCount(codePoint);
            }
            return true;
        }

        private static boolean isSpace(int codePoint) {
            return Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint);
        }
    }
}
