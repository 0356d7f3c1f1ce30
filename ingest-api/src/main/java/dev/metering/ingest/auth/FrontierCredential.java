package dev.metering.ingest.auth;

import dev.metering.schemas.rules.Identifiers;
import java.util.Set;

/**
 * A Frontier API user: HTTP Basic user name and secret, and the organizations it may write usage for
 * ({@code *} = every organization).
 */
public record FrontierCredential(String username, String secret, Set<String> orgs) {
    public static final String ANY_ORG = "*";

    public FrontierCredential {
        if (username == null || username.isBlank()) {
            throw new IllegalArgumentException("Frontier credential has an empty user name");
        }
        if (secret == null || secret.isEmpty()) {
            throw new IllegalArgumentException("Frontier credential '" + username + "' has an empty secret");
        }
        if (orgs == null || orgs.isEmpty()) {
            throw new IllegalArgumentException("Frontier credential '" + username + "' is bound to no organization; list them after the secret (org1|org2) or use *");
        }
        Set<String> normal = new java.util.LinkedHashSet<>();
        for (String org : orgs) {
            normal.add(org.equals(ANY_ORG) ? org : Identifiers.normalize("organization of Frontier user '" + username + "'", org));
        }
        orgs = Set.copyOf(normal);
    }

    /** @param orgId a normalised organization id ({@link Identifiers#normalize}) */
    public boolean mayWriteFor(String orgId) {
        return orgs.contains(ANY_ORG) || orgs.contains(orgId);
    }

    /**
     * Parses {@code user:secret:org1|org2}. The secret may contain colons (the user name ends at the first
     * colon, the organizations start after the last one).
     */
    public static FrontierCredential parse(String text) {
        String entry = text.strip();
        int first = entry.indexOf(':');
        int last = entry.lastIndexOf(':');
        if (first <= 0 || last == first) {
            throw new IllegalArgumentException("Frontier credential entry must look like user:secret:org1|org2 (user '"
                    + (first > 0 ? entry.substring(0, first) : "?") + "')");
        }
        Set<String> orgs = new java.util.LinkedHashSet<>();
        for (String org : entry.substring(last + 1).split("\\|")) {
            if (!org.isBlank()) {
                orgs.add(org.strip());
            }
        }
        return new FrontierCredential(entry.substring(0, first), entry.substring(first + 1, last), orgs);
    }

    /** Never shows the secret. */
    @Override
    public String toString() {
        return "FrontierCredential[username=" + username + ", orgs=" + orgs + ", secret=***]";
    }
}
