package dev.metering.ingest.auth;

import dev.metering.ops.auth.Secrets;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** HTTP Basic authentication of Frontier API users, and their binding to organizations. */
public final class BasicAuthenticator {
    private static final byte[] UNKNOWN_USER_DIGEST = Secrets.digest("unknown user: compared anyway so timing does not tell");

    private record Entry(FrontierCredential credential, byte[] secretDigest) {
    }

    private final Map<String, Entry> byUser = new HashMap<>();

    public BasicAuthenticator(List<FrontierCredential> credentials) {
        for (FrontierCredential credential : credentials) {
            byUser.put(credential.username(), new Entry(credential, Secrets.digest(credential.secret())));
        }
    }

    /**
     * The credential behind an {@code Authorization: Basic ...} header. Whether it may write for an organization
     * is {@link #requireOrg}'s question, asked once the org in the path is known to be a valid identifier.
     *
     * @throws ApiException UNAUTHENTICATED for a missing or wrong credential
     */
    public FrontierCredential authenticate(String authorization) {
        if (authorization == null || authorization.isBlank()) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "missing Authorization header; use HTTP Basic authentication");
        }
        if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "Authorization header must use the Basic scheme");
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(authorization.substring(6).strip()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "Authorization header is not valid Base64");
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "Basic credentials must be user:secret");
        }
        String user = decoded.substring(0, colon);
        Entry entry = byUser.get(user);
        boolean secretMatches = Secrets.matches(decoded.substring(colon + 1), entry == null ? UNKNOWN_USER_DIGEST : entry.secretDigest());
        if (entry == null || !secretMatches) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "invalid user name or secret");
        }
        return entry.credential();
    }

    /**
     * @param orgId the normalised organization of the request
     * @throws ApiException PERMISSION_DENIED when the credential is not bound to it
     */
    public static void requireOrg(FrontierCredential credential, String orgId) {
        if (!credential.mayWriteFor(orgId)) {
            throw new ApiException(ErrorKind.PERMISSION_DENIED, "user " + credential.username() + " may not write usage for organization " + orgId);
        }
    }
}
