package dev.metering.ingest.http;

import dev.metering.ops.auth.ApiKey;
import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ops.http.ErrorFormat;
import io.javalin.http.Context;

/** What the native endpoints share: an API key ({@code X-Api-Key} or {@code Authorization: Bearer}) and the native error shape. */
public abstract class ApiKeyEndpoint extends UsageEndpoint<ApiKey> {
    private final ApiKeyAuthenticator authenticator;

    protected ApiKeyEndpoint(Http http, String api, ApiKeyAuthenticator authenticator) {
        super(http, api, ErrorFormat.NATIVE);
        this.authenticator = authenticator;
    }

    @Override
    protected final ApiKey authenticate(Context ctx) {
        return authenticator.authenticate(ctx.header("X-Api-Key"), ctx.header("Authorization"));
    }

    @Override
    protected final String principalName(ApiKey key) {
        return key.name();
    }
}
