package dev.metering.query;

import java.time.Instant;
import java.time.ZoneId;
import java.util.List;

/**
 * One page of a {@code GET /v1/usage} request, validated.
 *
 * @param accounts  the billing accounts to read; empty: every account of the tenant
 * @param features  the feature codes to read; empty: every feature
 * @param after     the last row of the previous page, null for the first page
 */
record UsageQuery(String org, List<String> accounts, List<String> features, Instant from, Instant to, Windows.Size size, ZoneId zone,
                  boolean byAccount, boolean byFeature, int limit, Cursor.Position after) {

    UsageQuery {
        accounts = List.copyOf(accounts);
        features = List.copyOf(features);
    }

    /** What identifies the query across pages (everything but the page), for the cursor. */
    String fingerprintText() {
        return String.join("\u0000", org, String.join("\u0001", accounts), String.join("\u0001", features), from.toString(), to.toString(),
                size.name(), zone.getId(), Boolean.toString(byAccount), Boolean.toString(byFeature));
    }
}
