package dev.metering.ingest.auth;

import java.util.List;

/**
 * How Kinde bearer tokens are verified: keys from a JWKS URL or a configured public key (PEM, JWK or
 * JWKS JSON), and the issuer and audiences a token must carry. Disabled when neither key source is set.
 */
public record KindeJwtSettings(String jwksUrl, String publicKey, String issuer, List<String> audiences) {
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
    }

    public boolean enabled() {
        return jwksUrl != null || publicKey != null;
    }

    @Override
    public String toString() {
        return "KindeJwtSettings[jwksUrl=" + jwksUrl + ", publicKey=" + (publicKey == null ? "unset" : "set")
                + ", issuer=" + issuer + ", audiences=" + audiences + "]";
    }
}
