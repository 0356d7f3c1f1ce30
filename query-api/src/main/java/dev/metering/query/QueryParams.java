package dev.metering.query;

import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The query string, parsed strictly by this service rather than the HTTP server: every parameter must be one the
 * endpoint knows, percent-escapes must be well formed and decode to valid UTF-8, and a parameter that may appear
 * once must appear once. Every refusal is a 400 naming the parameter. A {@code +} is a plus sign (RFC 3986), not a
 * space, so {@code from=2025-10-26T00:00:00+02:00} means what it says; a space is {@code %20}.
 */
final class QueryParams {
    private static final int MAX_QUERY_LENGTH = 16 * 1024;
    private final Map<String, List<String>> values;

    private QueryParams(Map<String, List<String>> values) {
        this.values = values;
    }

    static QueryParams parse(String rawQuery, Set<String> known) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return new QueryParams(values);
        }
        if (rawQuery.length() > MAX_QUERY_LENGTH) {
            throw invalid("the query string is longer than " + MAX_QUERY_LENGTH + " characters");
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int equals = pair.indexOf('=');
            String name = decode(equals < 0 ? pair : pair.substring(0, equals), "a parameter name");
            if (!known.contains(name)) {
                throw invalid("unknown parameter '" + printable(name) + "'; this endpoint takes " + String.join(", ", known.stream().sorted().toList()));
            }
            String value = equals < 0 ? "" : decode(pair.substring(equals + 1), "parameter " + name);
            values.computeIfAbsent(name, n -> new ArrayList<>()).add(value);
        }
        return new QueryParams(values);
    }

    /** The parameter's value, null when absent; a 400 when it is given twice or empty. */
    String single(String name) {
        List<String> given = values.get(name);
        if (given == null) {
            return null;
        }
        if (given.size() > 1) {
            throw invalid("parameter " + name + " may be given once");
        }
        if (given.get(0).isEmpty()) {
            throw invalid("parameter " + name + " must not be empty");
        }
        return given.get(0);
    }

    String required(String name) {
        String value = single(name);
        if (value == null) {
            throw invalid("parameter " + name + " is required");
        }
        return value;
    }

    /** Every value of a repeatable parameter, also comma-separated ({@code a=1&a=2} or {@code a=1,2}); empty when absent. */
    List<String> list(String name, int max) {
        List<String> given = values.get(name);
        if (given == null) {
            return List.of();
        }
        List<String> result = new ArrayList<>();
        for (String value : given) {
            for (String item : value.split(",", -1)) {
                if (result.size() == max) {
                    throw invalid("parameter " + name + " lists more than " + max + " values");
                }
                result.add(item);
            }
        }
        return result;
    }

    /** Every value of a repeatable parameter whose values may hold commas ({@code a=1&a=2}); empty when absent. */
    List<String> repeated(String name, int max) {
        List<String> given = values.getOrDefault(name, List.of());
        if (given.size() > max) {
            throw invalid("parameter " + name + " is given more than " + max + " times");
        }
        return given;
    }

    static ApiException invalid(String message) {
        return new ApiException(ErrorKind.INVALID_ARGUMENT, message);
    }

    /** A name quoted in a message: control characters escaped, long names cut, so a message never carries them raw. */
    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().limit(60).forEach(c -> {
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT || Character.getType(c) == Character.SURROGATE) {
                out.append(String.format("\\u%04X", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return text.codePointCount(0, text.length()) > 60 ? out + "..." : out.toString();
    }

    private static String decode(String raw, String what) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length() || Character.digit(raw.charAt(i + 1), 16) < 0 || Character.digit(raw.charAt(i + 2), 16) < 0) {
                    throw invalid(what + " holds a malformed percent-escape");
                }
                bytes.write(Character.digit(raw.charAt(i + 1), 16) * 16 + Character.digit(raw.charAt(i + 2), 16));
                i += 2;
            } else {
                int codePoint = raw.codePointAt(i);
                byte[] encoded = Character.toString(codePoint).getBytes(StandardCharsets.UTF_8);
                bytes.write(encoded, 0, encoded.length);
                i += Character.charCount(codePoint) - 1;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw invalid(what + " is not valid UTF-8");
        }
    }
}
