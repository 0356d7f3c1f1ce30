package dev.metering.ingest.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ingest.http.ApiException;
import dev.metering.ingest.http.ErrorKind;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuthenticatorsTest {
    private static String basic(String credentials) {
        return "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void basicCredentialsAreBoundToOrganizations() {
        BasicAuthenticator authenticator = new BasicAuthenticator(List.of(
                FrontierCredential.parse("app:pa:ss:org-1|org-2"), FrontierCredential.parse("admin:root:*")));
        assertThat(authenticator.authenticate(basic("app:pa:ss"), "org-2")).isEqualTo("app");
        assertThat(authenticator.authenticate(basic("admin:root"), "any-org")).isEqualTo("admin");
        assertThatThrownBy(() -> authenticator.authenticate(basic("app:pa:ss"), "org-3"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED));
        assertThatThrownBy(() -> authenticator.authenticate(basic("app:wrong"), "org-1"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNAUTHENTICATED));
        assertThatThrownBy(() -> authenticator.authenticate("Basic %%%", "org-1")).hasMessageContaining("Base64");
    }

    @Test
    void apiKeysMatchOnlyTheWholeKey() {
        ApiKeyAuthenticator authenticator = new ApiKeyAuthenticator(List.of(ApiKey.parse("svc-a:key:a"), ApiKey.parse("svc-b:key-b")));
        assertThat(authenticator.authenticate("key:a", null)).isEqualTo("svc-a");
        assertThat(authenticator.authenticate(null, "Bearer key-b")).isEqualTo("svc-b");
        assertThatThrownBy(() -> authenticator.authenticate("key", null)).hasMessage("invalid API key");
        assertThatThrownBy(() -> authenticator.authenticate(null, null)).hasMessageContaining("missing API key");
    }

    @Test
    void secretsNeverAppearInTextOrErrors() {
        FrontierCredential credential = FrontierCredential.parse("app:topsecret:org-1");
        assertThat(credential.toString()).doesNotContain("topsecret");
        assertThat(ApiKey.parse("svc:topsecret").toString()).doesNotContain("topsecret");
        assertThatThrownBy(() -> FrontierCredential.parse("app:topsecret")).message().doesNotContain("topsecret");
        assertThatThrownBy(() -> FrontierCredential.parse("app:topsecret:")).message().doesNotContain("topsecret");
    }
}
