package dev.metering.ops.auth;

import dev.metering.ops.http.InvalidFieldException;
import dev.metering.schemas.rules.Identifiers;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A key of the native API: a name (shown in logs, metrics and rate limits), the secret key itself, and the
 * organizations (tenants) its events belong to. A key bound to no organization is unbound: each event may name
 * its {@code org_id}, and events naming none belong to the default tenant.
 */
public record ApiKey(String name, String key, Set<String> orgs) {
    public static final String UNBOUND = "*";

    public ApiKey {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("API key entry has an empty name");
        }
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("API key '" + name + "' is empty");
        }
        Set<String> normal = new LinkedHashSet<>();
        for (String org : orgs == null ? Set.<String>of() : orgs) {
            normal.add(Identifiers.normalize("organization of API key '" + name + "'", org));
        }
        orgs = Set.copyOf(normal);
    }

    public ApiKey(String name, String key) {
        this(name, key, Set.of());
    }

    public boolean bound() {
        return !orgs.isEmpty();
    }

    /**
     * Parses {@code name:key} (unbound) or {@code name:key:org1|org2} (bound to those organizations;
     * {@code name:key:*} is unbound). The name ends at the first colon; with two colons or more the organizations
     * start after the last one, so a key holding colons is written {@code name:k:e:y:*} or with its organizations.
     */
    public static ApiKey parse(String text) {
        String entry = text.strip();
        int first = entry.indexOf(':');
        if (first <= 0) {
            throw new IllegalArgumentException("API key entry must look like name:key or name:key:org1|org2");
        }
        String name = entry.substring(0, first);
        int last = entry.lastIndexOf(':');
        if (last == first) {
            return new ApiKey(name, entry.substring(first + 1));
        }
        Set<String> orgs = new LinkedHashSet<>();
        for (String org : entry.substring(last + 1).split("\\|")) {
            if (!org.isBlank() && !org.strip().equals(UNBOUND)) {
                orgs.add(org.strip());
            }
        }
        if (orgs.isEmpty() && !entry.substring(last + 1).strip().equals(UNBOUND)) {
            throw new IllegalArgumentException("API key '" + name + "' ends with ':' but names no organization; list them (org1|org2) or use *");
        }
        return new ApiKey(name, entry.substring(first + 1, last), orgs);
    }

    /**
     * The organization of an event sent with this key that names {@code requested} (normalised, or null).
     *
     * @return the org, or null for the default tenant
     * @throws InvalidFieldException FORBIDDEN for an org the key is not bound to; INVALID when a key bound to
     *                               several orgs sends an event naming none
     */
    public String orgFor(String requested, String field) {
        if (!bound()) {
            return requested;
        }
        if (requested == null) {
            if (orgs.size() == 1) {
                return orgs.iterator().next();
            }
            throw new InvalidFieldException(field, "is required: API key '" + name + "' writes for several organizations " + sorted());
        }
        if (!orgs.contains(requested)) {
            throw new InvalidFieldException(field, "'" + requested + "' is not an organization API key '" + name + "' may write for " + sorted(),
                    InvalidFieldException.Reason.FORBIDDEN);
        }
        return requested;
    }

    private String sorted() {
        return orgs.stream().sorted().toList().toString();
    }

    /** Never shows the key. */
    @Override
    public String toString() {
        return "ApiKey[name=" + name + ", orgs=" + (orgs.isEmpty() ? UNBOUND : orgs) + ", key=***]";
    }
}
