package dev.metering.ops.auth;

import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import java.util.List;

/** Authenticates native API clients by key ({@code X-Api-Key: <key>} or {@code Authorization: Bearer <key>}). */
public final class ApiKeyAuthenticator {
    private record Entry(ApiKey key, byte[] digest) {
    }

    private final List<Entry> keys;

    public ApiKeyAuthenticator(List<ApiKey> apiKeys) {
        keys = apiKeys.stream().map(key -> new Entry(key, Secrets.digest(key.key()))).toList();
    }

    /** @return the key (its name and organizations; never shown with its secret) */
    public ApiKey authenticate(String apiKeyHeader, String authorization) {
        String presented = apiKeyHeader;
        if ((presented == null || presented.isBlank()) && authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            presented = authorization.substring(7).strip();
        }
        if (presented == null || presented.isBlank()) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "missing API key; send it in the X-Api-Key header or as Authorization: Bearer <key>");
        }
        byte[] digest = Secrets.digest(presented.strip());
        ApiKey match = null;
        for (Entry key : keys) { // no early exit: every key is compared
            if (java.security.MessageDigest.isEqual(digest, key.digest())) {
                match = key.key();
            }
        }
        if (match == null) {
            throw new ApiException(ErrorKind.UNAUTHENTICATED, "invalid API key");
        }
        return match;
    }
}
