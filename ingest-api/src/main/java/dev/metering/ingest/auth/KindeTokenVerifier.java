package dev.metering.ingest.auth;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.ConfigurableJWTProcessor;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.schemas.rules.Identifiers;
import dev.metering.schemas.rules.RuleViolation;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.net.MalformedURLException;
import java.net.URI;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Verifies Kinde access tokens: signature (RSA or EC, keys from a JWKS URL or configured; unsigned
 * {@code alg: none} tokens are refused), {@code exp} (required), {@code iss} (exact) and {@code aud} (one of
 * the configured audiences), then the permission in {@code scp} or {@code permissions}, then the organization
 * the token acts for ({@code KINDE_ORG_ID}, or the claim {@code KINDE_ORG_CLAIM} names). Refusals are worded here,
 * never by the JWT library.
 */
public final class KindeTokenVerifier {
    public static final String REQUIRED_PERMISSION = "create:meter_usage";
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512);

    /** Who a verified token speaks for (for rate limits) and the organization (tenant) its events belong to (null = default). */
    public record KindePrincipal(String subject, String orgId) {
    }

    /** Clock skew tolerated on {@code exp} and {@code nbf}, as nimbus-jose-jwt's default claims verifier does. */
    static final Duration MAX_CLOCK_SKEW = Duration.ofSeconds(60);

    private final ConfigurableJWTProcessor<SecurityContext> processor;
    private final KindeJwtSettings settings;

    public KindeTokenVerifier(KindeJwtSettings settings) {
        this.settings = settings;
        if (!settings.enabled()) {
            processor = null;
            return;
        }
        JWKSource<SecurityContext> keys;
        if (settings.jwksUrl() != null) {
            try {
                keys = JWKSourceBuilder.create(URI.create(settings.jwksUrl()).toURL()).retrying(true).build();
            } catch (MalformedURLException | IllegalArgumentException e) {
                throw new IllegalArgumentException("KINDE_JWKS_URL is not a URL: " + e.getMessage(), e);
            }
        } else {
            keys = configuredKeys(parseKeys(settings.publicKey()));
        }
        DefaultJWTProcessor<SecurityContext> jwtProcessor = new DefaultJWTProcessor<>();
        jwtProcessor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
        // The claims are checked below, so every refusal is worded by us (the library's texts are not an API).
        jwtProcessor.setJWTClaimsSetVerifier((claims, context) -> { });
        processor = jwtProcessor;
    }

    /**
     * @return who the token speaks for ({@code sub}, else {@code azp}, else {@code client_id}) and its organization
     * @throws ApiException UNAUTHENTICATED for a missing or invalid token, PERMISSION_DENIED without the permission
     *                      or without the organization claim the server is configured to read
     */
    public KindePrincipal verify(String authorization) {
        if (processor == null) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "Kinde token verification is not configured on this server");
        }
        if (authorization == null || authorization.isBlank()) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "missing Authorization header; send Authorization: Bearer <access token>");
        }
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "Authorization header must use the Bearer scheme");
        }
        String token = authorization.substring(7).strip();
        JWT parsed;
        try {
            parsed = JWTParser.parse(token);
        } catch (ParseException e) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "bearer token is not a valid JWT");
        }
        if (!(parsed instanceof SignedJWT signed)) {
            throw invalid(parsed instanceof PlainJWT ? "unsigned tokens (alg none) are refused" : "encrypted tokens are not accepted");
        }
        if (!ALGORITHMS.contains(signed.getHeader().getAlgorithm())) {
            throw invalid("its algorithm " + signed.getHeader().getAlgorithm() + " is not accepted (RS, PS or ES only)");
        }
        JWTClaimsSet claims;
        try {
            claims = processor.process(signed, null);
        } catch (KeySourceException e) {
            // the JWKS endpoint is down or unreadable: not the client's fault, and retrying later may work
            throw new ApiException(ErrorKind.UNAVAILABLE, "cannot fetch the keys to verify the token; retry later", 5);
        } catch (BadJOSEException | JOSEException e) {
            throw invalid("its signature does not verify with the keys this server trusts");
        }
        checkClaims(claims, Instant.now());
        if (!hasPermission(claims)) {
            throw new ApiException(ErrorKind.PERMISSION_DENIED, "token lacks the permission " + REQUIRED_PERMISSION + " (in scp or permissions)");
        }
        return new KindePrincipal(subject(claims), org(claims));
    }

    private void checkClaims(JWTClaimsSet claims, Instant now) {
        Date expires = claims.getExpirationTime();
        if (expires == null) {
            throw invalid("it has no expiry (exp)");
        }
        if (now.isAfter(expires.toInstant().plus(MAX_CLOCK_SKEW))) {
            throw invalid("it has expired (exp)");
        }
        Date notBefore = claims.getNotBeforeTime();
        if (notBefore != null && now.isBefore(notBefore.toInstant().minus(MAX_CLOCK_SKEW))) {
            throw invalid("it is not valid before its nbf time");
        }
        if (!settings.issuer().equals(claims.getIssuer())) {
            throw invalid("its issuer (iss) is not the one this server trusts");
        }
        List<String> audiences = claims.getAudience();
        if (audiences == null || audiences.stream().noneMatch(settings.audiences()::contains)) {
            throw invalid("its audience (aud) is not one this server accepts");
        }
    }

    private static ApiException invalid(String why) {
        return new ApiException(ErrorKind.UNAUTHENTICATED, "invalid bearer token: " + why);
    }

    private static String subject(JWTClaimsSet claims) {
        for (String claim : List.of("sub", "azp", "client_id")) {
            Object value = claims.getClaim(claim);
            if (value instanceof String text && !text.isBlank()) {
                return text;
            }
        }
        return "kinde";
    }

    /** The tenant: the configured org, or the configured claim's value, or null (default tenant). */
    private String org(JWTClaimsSet claims) {
        if (settings.orgId() != null) {
            return settings.orgId();
        }
        if (settings.orgClaim() == null) {
            return null;
        }
        Object value = claims.getClaim(settings.orgClaim());
        if (!(value instanceof String text) || text.isBlank()) {
            throw new ApiException(ErrorKind.PERMISSION_DENIED, "token has no " + settings.orgClaim() + " claim naming its organization");
        }
        try {
            return Identifiers.normalize(settings.orgClaim(), text);
        } catch (RuleViolation e) {
            throw new ApiException(ErrorKind.PERMISSION_DENIED, "token's " + settings.orgClaim() + " claim is not a valid organization id: it "
                    + e.problem());
        }
    }

    private static boolean hasPermission(JWTClaimsSet claims) {
        for (String claim : List.of("scp", "permissions", "scope")) {
            Object value = claims.getClaim(claim);
            if (value instanceof String text && Set.of(text.split("\\s+")).contains(REQUIRED_PERMISSION)) {
                return true;
            }
            if (value instanceof Collection<?> list && list.contains(REQUIRED_PERMISSION)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The configured keys, matched by the token's {@code kid} when the key has one; a key configured without
     * {@code kid} (from PEM, say) is tried for any token of its key type and algorithm.
     */
    private static JWKSource<SecurityContext> configuredKeys(JWKSet keys) {
        return (selector, context) -> {
            List<JWK> matched = selector.select(keys);
            if (!matched.isEmpty()) {
                return matched;
            }
            JWKMatcher ignoringKeyId = new JWKMatcher.Builder(selector.getMatcher()).keyIDs((Set<String>) null).build();
            return keys.getKeys().stream().filter(key -> key.getKeyID() == null && ignoringKeyId.matches(key)).toList();
        };
    }

    /** A PEM public key (RSA or EC), a JWK, or a JWK set. */
    static JWKSet parseKeys(String text) {
        String trimmed = text.strip();
        try {
            if (trimmed.startsWith("{")) {
                return trimmed.contains("\"keys\"") ? JWKSet.parse(trimmed) : new JWKSet(JWK.parse(trimmed));
            }
            if (trimmed.startsWith("-----BEGIN PUBLIC KEY-----")) {
                byte[] der = Base64.getMimeDecoder().decode(trimmed
                        .replace("-----BEGIN PUBLIC KEY-----", "")
                        .replace("-----END PUBLIC KEY-----", ""));
                return new JWKSet(toJwk(der));
            }
        } catch (ParseException | IllegalArgumentException e) {
            throw new IllegalArgumentException("KINDE_JWT_PUBLIC_KEY cannot be read: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("KINDE_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----), a JWK or a JWK set");
    }

    private static JWK toJwk(byte[] der) {
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                PublicKey key = KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
                if (key instanceof RSAPublicKey rsa) {
                    return new RSAKey.Builder(rsa).build();
                }
                if (key instanceof ECPublicKey ec) {
                    return new ECKey.Builder(Curve.forECParameterSpec(ec.getParams()), ec).build();
                }
            } catch (java.security.GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("the PEM block is neither an RSA nor an EC public key");
    }
}
