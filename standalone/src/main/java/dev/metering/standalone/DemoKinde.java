package dev.metering.standalone;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.metering.ingest.auth.KindeTokenVerifier;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A stand-in for Kinde when no Kinde key is configured, so a newcomer can try the Kinde endpoint: an RSA
 * signing key generated at start (never written anywhere, gone when the process ends), trusted by the ingest API
 * as {@code KINDE_JWT_PUBLIC_KEY} with a demo issuer and audience, and a ready bearer token signed with it.
 * Configured Kinde keys replace it.
 */
final class DemoKinde {
    static final String ISSUER = "https://demo.metering.local";
    static final String AUDIENCE = "metering-demo";
    static final Duration TOKEN_LIFETIME = Duration.ofDays(1);
    /** The variables that configure a Kinde key source; when any is set, there is no demo. */
    static final List<String> KEY_VARIABLES = List.of("KINDE_JWKS_URL", "KINDE_JWT_PUBLIC_KEY", "KINDE_JWT_PUBLIC_KEY_FILE");

    private final RSAKey signingKey;

    private DemoKinde(RSAKey signingKey) {
        this.signingKey = signingKey;
    }

    static boolean wanted(Map<String, String> variables) {
        return KEY_VARIABLES.stream().allMatch(name -> variables.get(name) == null || variables.get(name).isBlank());
    }

    static DemoKinde generate() {
        try {
            return new DemoKinde(new RSAKeyGenerator(2048).keyID("metering-demo-" + UUID.randomUUID()).generate());
        } catch (JOSEException e) {
            throw new IllegalStateException("Could not generate the demo Kinde signing key", e);
        }
    }

    /** What the ingest API needs to trust the demo key (the public half only). */
    Map<String, String> variables() {
        return Map.of(
                "KINDE_JWT_PUBLIC_KEY", signingKey.toPublicJWK().toJSONString(),
                "KINDE_JWT_ISSUER", ISSUER,
                "KINDE_JWT_AUDIENCE", AUDIENCE);
    }

    /** A token as Kinde's M2M tokens look: issuer, audience, subject, a day of validity, the permission the API checks, org-1. */
    String token(Instant now) {
        return token(now, "org-1");
    }

    /** As {@link #token(Instant)} for the organisation {@code orgCode} (null: no org_code claim, the default tenant). */
    String token(Instant now, String orgCode) {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience(AUDIENCE)
                .subject("demo-client")
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(TOKEN_LIFETIME)))
                .claim("scp", List.of(KindeTokenVerifier.REQUIRED_PERMISSION));
        if (orgCode != null) {
            claims.claim("org_code", orgCode);
        }
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signingKey.getKeyID()).type(JOSEObjectType.JWT).build(),
                    claims.build());
            jwt.sign(new RSASSASigner(signingKey));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("Could not sign the demo Kinde token", e);
        }
    }
}
