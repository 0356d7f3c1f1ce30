package dev.metering.ingest.auth;

import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ops.auth.ApiKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.InvalidFieldException;
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
        FrontierCredential app = authenticator.authenticate(basic("app:pa:ss"));
        assertThat(app.username()).isEqualTo("app");
        BasicAuthenticator.requireOrg(app, "org-2");
        BasicAuthenticator.requireOrg(authenticator.authenticate(basic("admin:root")), "any-org");
        assertThatThrownBy(() -> BasicAuthenticator.requireOrg(app, "org-3"))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED));
        assertThatThrownBy(() -> authenticator.authenticate(basic("app:wrong")))
                .isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.UNAUTHENTICATED));
        assertThatThrownBy(() -> authenticator.authenticate("Basic %%%")).hasMessageContaining("Base64");
        // organizations are identifiers: configured decomposed, matched composed
        assertThat(FrontierCredential.parse("u:s:cafe\u0301").mayWriteFor("caf\u00e9")).isTrue();
    }

    @Test
    void apiKeysMatchOnlyTheWholeKey() {
        ApiKeyAuthenticator authenticator = new ApiKeyAuthenticator(List.of(ApiKey.parse("svc-a:key:a:*"), ApiKey.parse("svc-b:key-b")));
        assertThat(authenticator.authenticate("key:a", null).name()).isEqualTo("svc-a");
        assertThat(authenticator.authenticate(null, "Bearer key-b").name()).isEqualTo("svc-b");
        assertThatThrownBy(() -> authenticator.authenticate("key", null)).hasMessage("invalid API key");
        assertThatThrownBy(() -> authenticator.authenticate(null, null)).hasMessageContaining("missing API key");
    }

    @Test
    void apiKeysAreUnboundOrBoundToOrganizations() {
        ApiKey unbound = ApiKey.parse("svc:key");
        assertThat(unbound.bound()).isFalse();
        assertThat(unbound.orgFor(null, "events[0].org_id")).isNull();
        assertThat(unbound.orgFor("org-x", "events[0].org_id")).isEqualTo("org-x");
        assertThat(ApiKey.parse("svc:k:e:y:*")).satisfies(key -> {
            assertThat(key.key()).isEqualTo("k:e:y");
            assertThat(key.bound()).isFalse();
        });

        ApiKey one = ApiKey.parse("svc:k:ey:org-a");
        assertThat(one.key()).isEqualTo("k:ey");
        assertThat(one.orgFor(null, "f")).isEqualTo("org-a");
        assertThat(one.orgFor("org-a", "f")).isEqualTo("org-a");
        assertThatThrownBy(() -> one.orgFor("org-b", "events[1].org_id"))
                .isInstanceOfSatisfying(InvalidFieldException.class, e -> {
                    assertThat(e.kind()).isEqualTo(ErrorKind.PERMISSION_DENIED);
                    assertThat(e.getMessage()).startsWith("events[1].org_id 'org-b' is not an organization API key 'svc' may write for");
                });

        ApiKey two = ApiKey.parse("svc:key:org-a|org-b");
        assertThat(two.orgs()).containsExactlyInAnyOrder("org-a", "org-b");
        assertThat(two.orgFor("org-b", "f")).isEqualTo("org-b");
        assertThatThrownBy(() -> two.orgFor(null, "events[0].org_id")).hasMessageStartingWith("events[0].org_id is required");
        assertThatThrownBy(() -> ApiKey.parse("svc:secret-key:")).message().doesNotContain("secret-key");
        assertThatThrownBy(() -> ApiKey.parse("svc:secret-key:a\u0000b")).message().doesNotContain("secret-key");
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
