package dev.metering.ingest.validation;

import dev.metering.ops.http.InvalidFieldException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Strict reading of one JSON object: every member must be a known field (unknown ones are refused, as
 * Jackson's FAIL_ON_UNKNOWN_PROPERTIES would), JSON {@code null} counts as absent (as in protojson), and
 * every problem names the field by its path. With {@code camelCaseAliases}, {@code userId} is accepted for
 * {@code user_id} the way protojson accepts both names, but not both at once. {@link #readIgnoringUnknown} skips
 * unknown members instead, as protojson's {@code DiscardUnknown} does.
 */
public final class JsonFields {
    private final String path;
    /** The object as read; only known fields are ever looked up in it. */
    private final ObjectNode object;
    /**
     * Field → the member name it was written as, when camelCase aliases are read; null when they are not, and every
     * field is written under its own name (no copy of the object is made: this runs for every event of a batch).
     */
    private final Map<String, String> namesAsWritten;

    private JsonFields(String path, ObjectNode object, boolean camelCaseAliases) {
        this.path = path;
        this.object = object;
        this.namesAsWritten = camelCaseAliases ? new HashMap<>() : null;
    }

    public static JsonFields read(JsonNode node, String path, Set<String> knownFields, boolean camelCaseAliases) {
        return read(node, path, knownFields, camelCaseAliases, null);
    }

    /**
     * Reads like protojson with {@code DiscardUnknown} (Frontier): names in snake_case or lowerCamelCase, and members
     * that are no known field skipped, each reported to {@code ignored} by its path ({@code usages[0].colour}).
     */
    public static JsonFields readIgnoringUnknown(JsonNode node, String path, Set<String> knownFields, Consumer<String> ignored) {
        return read(node, path, knownFields, true, Objects.requireNonNull(ignored, "ignored"));
    }

    private static JsonFields read(JsonNode node, String path, Set<String> knownFields, boolean camelCaseAliases, Consumer<String> ignored) {
        if (node == null || !node.isObject()) {
            throw new InvalidFieldException(path.isEmpty() ? "body" : path, "must be a JSON object, got " + describe(node));
        }
        JsonFields fields = new JsonFields(path, (ObjectNode) node, camelCaseAliases);
        Iterator<String> members = node.fieldNames();
        while (members.hasNext()) {
            String written = members.next();
            String canonical = knownFields.contains(written) ? written
                    : camelCaseAliases && knownFields.contains(snakeCase(written)) ? snakeCase(written) : null;
            if (canonical == null && ignored != null) {
                ignored.accept(fields.rawPath(written));
                continue;
            }
            if (canonical == null) {
                throw new InvalidFieldException(fields.rawPath(written), "is not a known field (known: " + String.join(", ", knownFields) + ")");
            }
            // Without aliases a field has one name, and a JSON object holds a name once.
            String earlier = camelCaseAliases ? fields.namesAsWritten.putIfAbsent(canonical, written) : null;
            if (earlier != null) {
                throw new InvalidFieldException(fields.rawPath(written), "repeats field " + fields.rawPath(earlier));
            }
        }
        return fields;
    }

    /** The path of a field, for messages: {@code usages[0].amount}. */
    public String path(String field) {
        return rawPath(writtenName(field));
    }

    private String writtenName(String field) {
        return namesAsWritten == null ? field : namesAsWritten.getOrDefault(field, field);
    }

    private String rawPath(String written) {
        return path.isEmpty() ? written : path + "." + written;
    }

    /** The value of a known field, or null when it is absent or JSON null. */
    private JsonNode value(String field) {
        if (namesAsWritten != null && !namesAsWritten.containsKey(field)) {
            return null; // not written under any name (a member that is no known field is never looked up)
        }
        JsonNode value = object.get(writtenName(field));
        return value == null || value.isNull() ? null : value;
    }

    public boolean has(String field) {
        return value(field) != null;
    }

    public JsonNode node(String field) {
        return value(field);
    }

    /** A string value exactly as sent, or null when absent or null (the shared rules judge it). */
    public String string(String field) {
        JsonNode value = value(field);
        if (value == null) {
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidFieldException(path(field), "must be a string, got " + describe(value));
        }
        return value.textValue();
    }

    /** A string value, or null when absent or null; an empty string counts as absent. */
    public String optionalString(String field, int maxLength) {
        JsonNode value = value(field);
        if (value == null) {
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidFieldException(path(field), "must be a string, got " + describe(value));
        }
        String text = value.textValue();
        if (text.length() > maxLength) {
            throw new InvalidFieldException(path(field), "is longer than " + maxLength + " characters");
        }
        return text.isEmpty() ? null : text;
    }

    /** A string that must be present, not empty and not only white space. */
    public String requiredString(String field, int maxLength) {
        String text = optionalString(field, maxLength);
        if (text == null || text.isBlank()) {
            throw new InvalidFieldException(path(field), has(field) ? "must not be empty" : "is required");
        }
        return text;
    }

    public ArrayNode requiredArray(String field) {
        JsonNode value = value(field);
        if (value == null) {
            throw new InvalidFieldException(path(field), "is required");
        }
        if (!value.isArray()) {
            throw new InvalidFieldException(path(field), "must be a JSON array, got " + describe(value));
        }
        return (ArrayNode) value;
    }

    /** {@code userId} → {@code user_id}. */
    static String snakeCase(String name) {
        StringBuilder out = new StringBuilder(name.length() + 4);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isUpperCase(c)) {
                out.append('_').append(Character.toLowerCase(c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    public static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
