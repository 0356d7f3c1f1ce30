package dev.metering.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.auth.Secrets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The opaque paging cursor: the sort key of the last row of a page (window start, then the grouped keys) and a
 * fingerprint of the query, so a cursor is only accepted for the query that produced it. The rows are sorted by
 * (window_start, billing_account_id, feature_code) with byte-wise ("C") text order, and a page starts strictly
 * after the cursor's key, so paging neither repeats nor drops a row that exists throughout.
 */
final class Cursor {
    private static final String VERSION = "c1";
    private static final int MAX_LENGTH = 2048;

    /** The sort key of a row: account and feature are null when not grouped by. */
    record Position(Instant windowStart, String account, String feature) {
    }

    private Cursor() {
    }

    static String encode(ObjectMapper json, UsageQuery query, Position last) {
        ArrayNode node = json.createArrayNode();
        node.add(VERSION).add(fingerprint(query)).add(last.windowStart().toEpochMilli()).add(last.account()).add(last.feature());
        try {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(json.writeValueAsBytes(node));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @throws ApiException 400 naming {@code cursor} for anything but a cursor of this very query */
    static Position decode(ObjectMapper json, String text, UsageQuery query) {
        if (text.length() > MAX_LENGTH) {
            throw bad("is too long");
        }
        JsonNode node;
        try {
            node = json.readTree(Base64.getUrlDecoder().decode(text));
        } catch (IllegalArgumentException | IOException e) {
            throw bad("is not a cursor this API returned");
        }
        if (node == null || !node.isArray() || node.size() != 5 || !VERSION.equals(node.path(0).asText(null)) || !node.get(2).canConvertToLong()) {
            throw bad("is not a cursor this API returned");
        }
        if (!fingerprint(query).equals(node.get(1).asText())) {
            throw bad("belongs to another query; send the same parameters as the request that returned it");
        }
        Instant windowStart = Instant.ofEpochMilli(node.get(2).asLong());
        String account = text(node.get(3), query.byAccount());
        String feature = text(node.get(4), query.byFeature());
        if (windowStart.isBefore(query.from()) || !windowStart.isBefore(query.to())) {
            throw bad("is not a cursor this API returned");
        }
        return new Position(windowStart, account, feature);
    }

    private static String text(JsonNode node, boolean expected) {
        if (expected != node.isTextual()) {
            throw bad("is not a cursor this API returned");
        }
        return expected ? node.asText() : null;
    }

    private static String fingerprint(UsageQuery query) {
        return HexFormat.of().formatHex(Secrets.digest(query.fingerprintText()), 0, 12);
    }

    private static ApiException bad(String problem) {
        return new ApiException(ErrorKind.INVALID_ARGUMENT, "parameter cursor " + problem);
    }
}
