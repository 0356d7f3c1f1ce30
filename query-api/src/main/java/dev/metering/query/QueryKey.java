package dev.metering.query;

import dev.metering.ops.auth.ApiKey;
import dev.metering.schemas.rules.Identifiers;
import dev.metering.schemas.rules.RuleViolation;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A key of the query API: its name (logs, metrics), the secret, the tenant (org) it reads, and the billing accounts
 * of that tenant it may read ({@code null}: every account of the tenant).
 */
public record QueryKey(String name, String key, String org, Set<String> accounts) {
    public QueryKey {
        new ApiKey(name, key); // the ingest API's checks on name and secret
        try {
            org = Identifiers.normalize("org", org);
            if (accounts != null) {
                Set<String> normal = new LinkedHashSet<>();
                for (String account : accounts) {
                    normal.add(Identifiers.normalize("billing account", account));
                }
                if (normal.isEmpty()) {
                    throw new IllegalArgumentException("query key '" + name + "' lists no billing account");
                }
                accounts = Set.copyOf(normal);
            }
        } catch (RuleViolation e) {
            throw new IllegalArgumentException("query key '" + name + "': " + e.getMessage());
        }
    }

    /**
     * Parses {@code name:key:org} (every account of the org) or {@code name:key:org:acct-1|acct-2} (only those).
     * Name, key and org contain no colon; account ids no {@code |}. Messages never repeat the entry (it holds the key).
     */
    public static QueryKey parse(String text) {
        String[] parts = text.strip().split(":", 4);
        if (parts.length < 3) {
            throw new IllegalArgumentException("query key entry must look like name:key:org or name:key:org:account|account");
        }
        Set<String> accounts = parts.length == 4 ? new LinkedHashSet<>(Arrays.asList(parts[3].split("\\|", -1))) : null;
        return new QueryKey(parts[0], parts[1], parts[2], accounts);
    }

    public ApiKey apiKey() {
        return new ApiKey(name, key);
    }

    public boolean mayRead(String account) {
        return accounts == null || accounts.contains(account);
    }

    /** Never shows the key. */
    @Override
    public String toString() {
        return "QueryKey[name=" + name + ", key=***, org=" + org + ", accounts=" + (accounts == null ? "*" : accounts) + "]";
    }
}
