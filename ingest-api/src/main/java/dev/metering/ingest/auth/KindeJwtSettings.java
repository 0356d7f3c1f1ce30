package dev.metering.ingest.auth;

import dev.metering.schemas.rules.Identifiers;
import java.util.List;

/**
 * How Kinde bearer tokens are verified: keys from a JWKS URL or a configured public key (PEM, JWK or
 * JWKS JSON), and the issuer and audiences a token must carry. Disabled when neither key source is set.
 *
 * <p>The tenant every token acts for: {@code orgId} (one org for every token of the issuer), or the value of the
 * token claim {@code orgClaim} (e.g. Kinde's {@code org_code}); neither = the default tenant.
 */
public record KindeJwtSettings(String jwksUrl, String publicKey, String issuer, List<String> audiences, String orgId, String orgClaim) {
    public static final KindeJwtSettings DISABLED = new KindeJwtSettings(null, null, null, List.of());

    public KindeJwtSettings {
        audiences = audiences == null ? List.of() : List.copyOf(audiences);
        if (jwksUrl != null && publicKey != null) {
            throw new IllegalArgumentException("Set either KINDE_JWKS_URL or KINDE_JWT_PUBLIC_KEY, not both");
        }
        if (jwksUrl != null || publicKey != null) {
            if (issuer == null || issuer.isBlank()) {
                throw new IllegalArgumentException("KINDE_JWT_ISSUER must be set when Kinde tokens are accepted");
            }
            if (audiences.isEmpty()) {
                throw new IllegalArgumentException("KINDE_JWT_AUDIENCE must be set when Kinde tokens are accepted");
            }
        }
        if (orgId != null && orgClaim != null) {
            throw new IllegalArgumentException("Set either KINDE_ORG_ID or KINDE_ORG_CLAIM, not both");
        }
        orgId = orgId == null ? null : Identifiers.normalize("KINDE_ORG_ID", orgId);
        if (orgClaim != null && orgClaim.isBlank()) {
            throw new IllegalArgumentException("KINDE_ORG_CLAIM must name a claim");
        }
    }

    /** Tokens act for the default tenant. */
    public KindeJwtSettings(String jwksUrl, String publicKey, String issuer, List<String> audiences) {
        this(jwksUrl, publicKey, issuer, audiences, null, null);
    }

    public KindeJwtSettings withOrg(String org, String claim) {
        return new KindeJwtSettings(jwksUrl, publicKey, issuer, audiences, org, claim);
    }

    public boolean enabled() {
        return jwksUrl != null || publicKey != null;
    }

    @Override
    public String toString() {
        return "KindeJwtSettings[jwksUrl=" + jwksUrl + ", publicKey=" + (publicKey == null ? "unset" : "set")
                + ", issuer=" + issuer + ", audiences=" + audiences + ", orgId=" + orgId + ", orgClaim=" + orgClaim + "]";
    }
}
