package dev.metering.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.ingest.auth.KindeJwtSettings;
import dev.metering.ingest.auth.KindeTokenVerifier;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoKindeTest {
    @Test
    void theIngestApiTrustsTheDemoKeyAndItsTokenCarriesThePermissionForADay() throws Exception {
        DemoKinde demo = DemoKinde.generate();
        Map<String, String> variables = demo.variables();
        KindeTokenVerifier verifier = new KindeTokenVerifier(new KindeJwtSettings(null, variables.get("KINDE_JWT_PUBLIC_KEY"),
                variables.get("KINDE_JWT_ISSUER"), List.of(variables.get("KINDE_JWT_AUDIENCE"))));
        String token = demo.token(Instant.now());
        assertThat(verifier.verify("Bearer " + token).subject()).isEqualTo("demo-client");
        assertThat(com.nimbusds.jwt.SignedJWT.parse(token).getJWTClaimsSet().getExpirationTime().toInstant())
                .isBetween(Instant.now().plus(Duration.ofHours(23)), Instant.now().plus(Duration.ofHours(25)));
        assertThat(variables.get("KINDE_JWT_PUBLIC_KEY")).doesNotContain("\"d\"").as("only the public half is handed over");
    }

    @Test
    void configuredKindeKeysReplaceTheDemo() {
        assertThat(DemoKinde.wanted(Map.of())).isTrue();
        assertThat(DemoKinde.wanted(Map.of("KINDE_JWKS_URL", "https://acme.kinde.com/.well-known/jwks"))).isFalse();
        assertThat(DemoKinde.wanted(Map.of("KINDE_JWT_PUBLIC_KEY_FILE", "/etc/kinde.pem"))).isFalse();
    }
}
