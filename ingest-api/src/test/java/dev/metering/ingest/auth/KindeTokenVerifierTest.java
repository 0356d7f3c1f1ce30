package dev.metering.ingest.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KindeTokenVerifierTest {
    private static final String ISSUER = "https://acme.kinde.com";
    private static final String AUDIENCE = "https://metering.acme";
    private static RSAKey rsaKey;
    private static KindeTokenVerifier verifier;

    @BeforeAll
    static void keys() throws Exception {
        rsaKey = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        verifier = new KindeTokenVerifier(new KindeJwtSettings(null, rsaKey.toPublicJWK().toJSONString(), ISSUER, List.of(AUDIENCE)));
    }

    private static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().issuer(ISSUER).audience(List.of("other", AUDIENCE)).subject("client-1")
                .expirationTime(Date.from(Instant.now().plusSeconds(300))).claim("scp", List.of("create:meter_usage"));
    }

    private static String rsaToken(JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").type(JOSEObjectType.JWT).build(), claims);
        jwt.sign(new RSASSASigner(rsaKey));
        return "Bearer " + jwt.serialize();
    }

    private static ApiException refusal(String authorization) {
        try {
            verifier.verify(authorization);
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("token was accepted: " + authorization);
    }

    @Test
    void acceptsAValidTokenAndReturnsItsSubject() throws Exception {
        assertThat(verifier.verify(rsaToken(claims().build())).subject()).isEqualTo("client-1");
        assertThat(verifier.verify(rsaToken(claims().subject(null).claim("azp", "app-2").build())).subject()).isEqualTo("app-2");
        assertThat(verifier.verify(rsaToken(claims().claim("scp", "read create:meter_usage").build())).subject()).isEqualTo("client-1");
    }

    @Test
    void refusesTokensWithWrongClaims() throws Exception {
        // our own words, never the JWT library's
        assertThat(refusal(rsaToken(claims().expirationTime(Date.from(Instant.now().minusSeconds(120))).build())).getMessage())
                .isEqualTo("invalid bearer token: it has expired (exp)");
        assertThat(refusal(rsaToken(claims().expirationTime(null).build())).getMessage()).isEqualTo("invalid bearer token: it has no expiry (exp)");
        assertThat(refusal(rsaToken(claims().issuer("https://evil.kinde.com").build())).getMessage())
                .isEqualTo("invalid bearer token: its issuer (iss) is not the one this server trusts");
        assertThat(refusal(rsaToken(claims().audience("other").build())).getMessage())
                .isEqualTo("invalid bearer token: its audience (aud) is not one this server accepts");
        assertThat(refusal(rsaToken(claims().notBeforeTime(Date.from(Instant.now().plusSeconds(600))).build())).getMessage())
                .isEqualTo("invalid bearer token: it is not valid before its nbf time");
        ApiException noPermission = refusal(rsaToken(claims().claim("scp", List.of("read:usage")).build()));
        assertThat(noPermission.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED);
    }

    @Test
    void refusesUnsignedAndWronglySignedTokens() throws Exception {
        assertThat(refusal("Bearer " + new PlainJWT(claims().build()).serialize()).getMessage())
                .isEqualTo("invalid bearer token: unsigned tokens (alg none) are refused");

        RSAKey otherKey = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
        SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims().build());
        forged.sign(new RSASSASigner(otherKey));
        assertThat(refusal("Bearer " + forged.serialize()).getMessage())
                .isEqualTo("invalid bearer token: its signature does not verify with the keys this server trusts");
        assertThat(refusal("Bearer not.a.jwt").getMessage()).isEqualTo("bearer token is not a valid JWT");

        // HS256 signed with the public key's bytes: the classic algorithm-confusion attack
        SignedJWT confused = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims().build());
        confused.sign(new MACSigner(rsaKey.toPublicJWK().toRSAPublicKey().getEncoded()));
        assertThat(refusal("Bearer " + confused.serialize()).kind()).isEqualTo(ErrorKind.UNAUTHENTICATED);

        assertThat(refusal(null).getMessage()).contains("missing Authorization header");
        assertThat(refusal("Basic abc").getMessage()).contains("Bearer scheme");
    }

    @Test
    void readsPemPublicKeys() throws Exception {
        String pem = "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(rsaKey.toRSAPublicKey().getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
        KindeTokenVerifier fromPem = new KindeTokenVerifier(new KindeJwtSettings(null, pem, ISSUER, List.of(AUDIENCE)));
        assertThat(fromPem.verify(rsaToken(claims().build())).subject()).isEqualTo("client-1");

        ECKey ecKey = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
        String ecPem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getEncoder().encodeToString(ecKey.toECPublicKey().getEncoded()) + "\n-----END PUBLIC KEY-----";
        KindeTokenVerifier fromEcPem = new KindeTokenVerifier(new KindeJwtSettings(null, ecPem, ISSUER, List.of(AUDIENCE)));
        SignedJWT ecJwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).build(), claims().build());
        ecJwt.sign(new ECDSASigner(ecKey));
        assertThat(fromEcPem.verify("Bearer " + ecJwt.serialize()).subject()).isEqualTo("client-1");

        assertThatThrownBy(() -> new KindeTokenVerifier(new KindeJwtSettings(null, "not a key", ISSUER, List.of(AUDIENCE))))
                .hasMessageContaining("KINDE_JWT_PUBLIC_KEY");
    }

    @Test
    void fetchesKeysFromAJwksUrl() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        byte[] jwks = new JWKSet(rsaKey.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        server.createContext("/.well-known/jwks.json", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            exchange.getResponseBody().write(jwks);
            exchange.close();
        });
        server.start();
        try {
            KindeTokenVerifier fromJwks = new KindeTokenVerifier(new KindeJwtSettings(
                    "http://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/jwks.json", null, ISSUER, List.of(AUDIENCE)));
            assertThat(fromJwks.verify(rsaToken(claims().build())).subject()).isEqualTo("client-1");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void anUnreachableJwksUrlIsAServerSideFailure() throws Exception {
        int unusedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            unusedPort = socket.getLocalPort();
        }
        KindeTokenVerifier unreachable = new KindeTokenVerifier(new KindeJwtSettings(
                "http://127.0.0.1:" + unusedPort + "/jwks", null, ISSUER, List.of(AUDIENCE)));
        String token = rsaToken(claims().build());
        try {
            unreachable.verify(token);
            throw new AssertionError("accepted without keys");
        } catch (ApiException e) {
            assertThat(e.kind()).isEqualTo(ErrorKind.UNAVAILABLE);
            assertThat(e.retryAfterSeconds()).isPositive();
        }
    }

    @Test
    void theOrganizationIsTheConfiguredOneOrTheConfiguredClaim() throws Exception {
        String publicKey = rsaKey.toPublicJWK().toJSONString();
        KindeJwtSettings settings = new KindeJwtSettings(null, publicKey, ISSUER, List.of(AUDIENCE));
        assertThat(verifier.verify(rsaToken(claims().claim("org_code", "org_1").build())).orgId()).as("default tenant").isNull();
        assertThat(new KindeTokenVerifier(settings.withOrg("org-a", null)).verify(rsaToken(claims().claim("org_code", "org_1").build())).orgId())
                .isEqualTo("org-a");

        KindeTokenVerifier byClaim = new KindeTokenVerifier(settings.withOrg(null, "org_code"));
        assertThat(byClaim.verify(rsaToken(claims().claim("org_code", "org_1").build())).orgId()).isEqualTo("org_1");
        ApiException missing = refusal(byClaim, rsaToken(claims().build()));
        assertThat(missing.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED);
        assertThat(missing.getMessage()).isEqualTo("token has no org_code claim naming its organization");
        ApiException invalid = refusal(byClaim, rsaToken(claims().claim("org_code", "x".repeat(101)).build()));
        assertThat(invalid.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED);
        assertThat(invalid.getMessage()).contains("org_code claim is not a valid organization id");

        assertThatThrownBy(() -> settings.withOrg("org-a", "org_code")).hasMessageContaining("KINDE_ORG_ID or KINDE_ORG_CLAIM");
    }

    private static ApiException refusal(KindeTokenVerifier target, String authorization) {
        try {
            target.verify(authorization);
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("token was accepted: " + authorization);
    }

    @Test
    void requiresIssuerAndAudienceWhenEnabled() {
        assertThatThrownBy(() -> new KindeJwtSettings(null, "{}", null, List.of(AUDIENCE))).hasMessageContaining("KINDE_JWT_ISSUER");
        assertThatThrownBy(() -> new KindeJwtSettings(null, "{}", ISSUER, List.of())).hasMessageContaining("KINDE_JWT_AUDIENCE");
        assertThat(refusalOf(new KindeTokenVerifier(KindeJwtSettings.DISABLED)).getMessage()).contains("not configured");
    }

    private static ApiException refusalOf(KindeTokenVerifier disabled) {
        try {
            disabled.verify("Bearer x");
        } catch (ApiException e) {
            return e;
        }
        throw new AssertionError("accepted");
    }
}
