package dev.metering.schemas.rules;

/** Every event belongs to a tenant (an org). Events without {@code org_id} belong to the default tenant. */
public final class Tenants {
    /** The tenant of events without {@code org_id} (direct producers, API keys bound to no org). */
    public static final String DEFAULT = "default";

    private Tenants() {
    }

    /** The tenant of an event whose {@code org_id} is {@code orgId}. */
    public static String of(String orgId) {
        return orgId == null ? DEFAULT : orgId;
    }
}
