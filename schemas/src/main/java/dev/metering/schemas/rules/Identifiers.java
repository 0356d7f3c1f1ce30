package dev.metering.schemas.rules;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The one rule set for identifiers (tenant, billing account, feature code, event ids, idempotency keys) and
 * free text, shared by every API and the aggregator. An identifier is stored in PostgreSQL and its indexes, so
 * it must be text they can always hold and compare:
 * <ul>
 *   <li>NFC-normalised Unicode (composed and decomposed {@code café} are the same identifier);</li>
 *   <li>no lone surrogates (they cannot be encoded in UTF-8), no NUL, no control characters (Unicode Cc);</li>
 *   <li>not blank, no white space at either end;</li>
 *   <li>at most {@value #MAX_LENGTH} characters (code points), counted after normalisation and lower-casing.</li>
 * </ul>
 * Free text (descriptions, user ids, metadata) may hold any valid Unicode but NUL and lone surrogates.
 */
public final class Identifiers {
    public static final int MAX_LENGTH = 100;
    public static final int MAX_TEXT_LENGTH = 1000;

    private Identifiers() {
    }

    /**
     * The identifier in its normal form.
     *
     * @throws RuleViolation MISSING when null or blank, INVALID for anything else the rules refuse
     */
    public static String normalize(String field, String value) {
        if (value == null) {
            throw new RuleViolation(field, RuleViolation.Kind.MISSING, "is required");
        }
        if (isPrintableAscii(value, MAX_LENGTH) && value.charAt(0) != ' ' && value.charAt(value.length() - 1) != ' ') {
            return value; // valid and normal by the full rules (the usual identifier; one loop on every event's path)
        }
        return normalizeByTheFullRules(field, value);
    }

    /** {@link #normalize} without its printable-ASCII shortcut, which must always agree with it (a property test). */
    static String normalizeByTheFullRules(String field, String value) {
        if (value == null) {
            throw new RuleViolation(field, RuleViolation.Kind.MISSING, "is required");
        }
        requireValidUnicode(field, value, true);
        // ASCII text is always in NFC (most identifiers are ASCII, and this is on every event's path).
        String normal = isAscii(value) ? value : Normalizer.normalize(value, Normalizer.Form.NFC);
        return checkShape(field, normal);
    }

    /**
     * Whether the value is 1 to {@code maxLength} characters of printable ASCII (space to tilde): no control character,
     * surrogate or NUL, already in NFC, and white space only as ' ' (callers check the ends).
     */
    private static boolean isPrintableAscii(String value, int maxLength) {
        if (value.isEmpty() || value.length() > maxLength) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < ' ' || c > '~') {
                return false;
            }
        }
        return true;
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
    public static String normalizeOptional(String field, String value) {
        return value == null ? null : normalize(field, value);
    }

    /** Frontier lower-cases its {@code source}: lower case (locale-independent), then NFC, then the length check. */
    public static String normalizeLowerCase(String field, String value) {
        if (value == null) {
            throw new RuleViolation(field, RuleViolation.Kind.MISSING, "is required");
        }
        requireValidUnicode(field, value, true);
        return checkShape(field, Normalizer.normalize(value.toLowerCase(Locale.ROOT), Normalizer.Form.NFC));
    }

    /** Whether the value already is a valid identifier in normal form. */
    public static boolean isNormalIdentifier(String value) {
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
    public static String text(String field, String value, int maxLength) {
        if (value == null) {
            return null;
        }
        if (isPrintableAscii(value, maxLength)) {
            return value; // valid by the full rules, in one loop
        }
        return textByTheFullRules(field, value, maxLength);
    }

    /** {@link #text} without its printable-ASCII shortcut, which must always agree with it (a property test). */
    static String textByTheFullRules(String field, String value, int maxLength) {
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
