package dev.metering.e2e;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/** A signing key the ingest API is told to trust, and M2M access tokens as Kinde issues them. */
final class KindeTokens {
    private final RSAKey key;
    private final String issuer;
    private final String audience;

    KindeTokens(String issuer, String audience) {
        this.issuer = issuer;
        this.audience = audience;
        try {
            this.key = new RSAKeyGenerator(2048).keyID("e2e").generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The public half as a JWK (what KINDE_JWT_PUBLIC_KEY accepts). */
    String publicJwk() {
        return key.toPublicJWK().toJSONString();
    }

    String token() {
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer).audience(List.of(audience)).subject("e2e-m2m-app")
                .claim("azp", "e2e-m2m-app").claim("scp", List.of("create:meter_usage"))
                .issueTime(new Date()).expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(), claims);
        try {
            jwt.sign(new RSASSASigner(key));
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
        return jwt.serialize();
    }
}
