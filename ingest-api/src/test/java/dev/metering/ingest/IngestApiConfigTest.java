package dev.metering.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ops.Env;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestApiConfigTest {
    @Test
    void defaults() {
        IngestApiConfig config = IngestApiConfig.fromEnv(new Env(Map.of()));
        assertThat(config.httpPort()).isEqualTo(7400);
        assertThat(config.maxBodyBytes()).isEqualTo(1024 * 1024);
        assertThat(config.gracePeriod()).isEqualTo(Duration.ofHours(48));
        assertThat(config.deliveryTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(config.frontierCredentials()).isEmpty();
        assertThat(config.kinde().enabled()).isFalse();
    }

    @Test
    void readsCredentialsFromVariablesAndFiles(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys");
        Files.writeString(keys, "# native clients\nsvc-a:key-a\n\nsvc-b:key-b\n");
        Path pem = dir.resolve("kinde.pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n");
        IngestApiConfig config = IngestApiConfig.fromEnv(new Env(Map.of(
                "INGEST_HTTP_PORT", "0",
                "INGEST_FRONTIER_CREDENTIALS", "app:s:e:c:org-1|org-2, ops:pw:*",
                "INGEST_API_KEYS_FILE", keys.toString(),
                "KINDE_JWT_PUBLIC_KEY_FILE", pem.toString(),
                "KINDE_JWT_ISSUER", "https://acme.kinde.com",
                "KINDE_JWT_AUDIENCE", "a1, a2",
                "INGEST_DELIVERY_TIMEOUT", "3s",
                "METERING_GRACE_PERIOD", "PT72H",
                "INGEST_RATE_LIMIT_PER_SECOND", "2.5")));
        assertThat(config.frontierCredentials()).hasSize(2);
        assertThat(config.frontierCredentials().get(0).secret()).isEqualTo("s:e:c");
        assertThat(config.frontierCredentials().get(0).orgs()).isEqualTo(Set.of("org-1", "org-2"));
        assertThat(config.frontierCredentials().get(1).mayWriteFor("whatever")).isTrue();
        assertThat(config.apiKeys()).extracting(key -> key.name()).containsExactly("svc-a", "svc-b");
        assertThat(config.kinde().publicKey()).startsWith("-----BEGIN PUBLIC KEY-----");
        assertThat(config.kinde().audiences()).containsExactly("a1", "a2");
        assertThat(config.deliveryTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(config.gracePeriod()).isEqualTo(Duration.ofHours(72));
        assertThat(config.rateLimitPerSecond()).isEqualTo(2.5);
        assertThat(config.toString()).doesNotContain("key-a", "s:e:c", "pw");
    }

    @Test
    void readsTheSharedEventRuleVariablesAndTenantsOfCredentials(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys");
        Files.writeString(keys, "bound:key-1:org-a|org-b\nunbound:key-2\n");
        IngestApiConfig config = IngestApiConfig.fromEnv(new Env(Map.of(
                "METERING_MAX_FUTURE_SKEW", "1m",
                "METERING_GRACE_PERIOD", "2h",
                "INGEST_API_KEYS_FILE", keys.toString(),
                "KINDE_ORG_CLAIM", "org_code")));
        assertThat(config.maxFutureSkew()).isEqualTo(Duration.ofMinutes(1));
        assertThat(config.gracePeriod()).isEqualTo(Duration.ofHours(2));
        assertThat(config.apiKeys().get(0).orgs()).containsExactlyInAnyOrder("org-a", "org-b");
        assertThat(config.apiKeys().get(1).bound()).isFalse();
        assertThat(config.kinde().orgClaim()).isEqualTo("org_code");
        assertThat(IngestApiConfig.fromEnv(new Env(Map.of())).maxFutureSkew()).isEqualTo(Duration.ofMinutes(5));
        assertThat(IngestApiConfig.fromEnv(new Env(Map.of("KINDE_ORG_ID", "cafe\u0301"))).kinde().orgId()).isEqualTo("caf\u00e9");
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("KINDE_ORG_ID", "a", "KINDE_ORG_CLAIM", "org_code"))))
                .hasMessageContaining("KINDE_ORG_ID or KINDE_ORG_CLAIM");
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("INGEST_API_KEYS", "k:topsecret:" + "x".repeat(101)))))
                .hasMessageStartingWith("INGEST_API_KEYS").message().doesNotContain("topsecret");
    }

    @Test
    void everyVariableReadIsDocumentedInTheReadme() throws Exception {
        Env env = new Env(Map.of());
        IngestApiConfig.fromEnv(env);
        String readme = Files.readString(Path.of("README.md"));
        assertThat(env.namesRead()).isNotEmpty().allSatisfy(name -> assertThat(readme).contains("| `" + name + "` |"));
    }

    @Test
    void badValuesNameTheVariableButNotTheSecret() {
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("INGEST_FRONTIER_CREDENTIALS", "nosecretorgs"))))
                .hasMessageStartingWith("INGEST_FRONTIER_CREDENTIALS");
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("INGEST_API_KEYS", "a:topsecret,a:other"))))
                .hasMessageContaining("INGEST_API_KEYS").message().doesNotContain("topsecret");
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("INGEST_DELIVERY_TIMEOUT", "10"))))
                .hasMessageContaining("INGEST_DELIVERY_TIMEOUT");
        assertThatThrownBy(() -> IngestApiConfig.fromEnv(new Env(Map.of("KINDE_JWKS_URL", "https://x/jwks"))))
                .hasMessageContaining("KINDE_JWT_ISSUER");
    }
}
