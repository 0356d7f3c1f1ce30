package dev.metering.ingest.frontier;

import dev.metering.ingest.auth.BasicAuthenticator;
import dev.metering.ingest.auth.FrontierCredential;
import dev.metering.ingest.frontier.FrontierUsageEndpoint.Form;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ingest.http.UsageEndpoint;
import io.javalin.http.Context;
import java.util.Locale;

/**
 * What every Frontier route shares: HTTP Basic authentication bound to the org the request names (on the path form
 * checked before the body is read), the route's error shape, and Connect unary JSON's body headers.
 */
abstract class FrontierEndpoint extends UsageEndpoint<FrontierCredential> {
    protected final Form form;
    private final BasicAuthenticator authenticator;

    FrontierEndpoint(Form form, Http http, BasicAuthenticator authenticator) {
        super(http, FrontierUsageEndpoint.ORIGIN, form.errors());
        this.form = form;
        this.authenticator = authenticator;
    }

    /** The org the path form's path names, held to the identifier rules. */
    protected abstract String pathOrg(Context ctx);

    /** Authenticates; on the path form also checks the org in the path (a valid identifier, 400; bound to the credential, 403). */
    @Override
    protected final FrontierCredential authenticate(Context ctx) {
        FrontierCredential credential = authenticator.authenticate(ctx.header("Authorization"));
        if (form == Form.PATH_FORM) {
            BasicAuthenticator.requireOrg(credential, pathOrg(ctx));
        }
        return credential;
    }

    @Override
    protected final String principalName(FrontierCredential credential) {
        return credential.username();
    }

    @Override
    protected final String authenticateChallenge() {
        return "Basic realm=\"frontier\"";
    }

    /**
     * Connect unary: the body is JSON ({@code application/json}; {@code application/proto} and the streaming types
     * {@code application/connect+json|proto} are not served: 415), {@code Connect-Protocol-Version}, when sent, is
     * {@code 1} (400 otherwise), and the body is not compressed ({@code Content-Encoding} other than {@code identity}:
     * 501 {@code unimplemented}, as connect-go answers an unknown compression).
     */
    @Override
    protected final void checkBodyHeaders(Context ctx) {
        if (form != Form.CONNECT) {
            super.checkBodyHeaders(ctx);
            return;
        }
        String contentType = ctx.contentType();
        if (!mediaType(contentType).equals("application/json")) {
            ctx.header("Accept-Post", "application/json");
            throw new ApiException(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json (Connect unary JSON), got "
                    + (contentType == null ? "none" : "'" + contentType + "'"));
        }
        String version = ctx.header("Connect-Protocol-Version");
        if (version != null && !version.strip().equals("1")) {
            throw new ApiException(ErrorKind.INVALID_ARGUMENT, "Connect-Protocol-Version must be \"1\"");
        }
        String encoding = ctx.header("Content-Encoding");
        if (encoding != null && !encoding.isBlank() && !encoding.strip().toLowerCase(Locale.ROOT).equals("identity")) {
            throw new ApiException(ErrorKind.UNIMPLEMENTED, "Content-Encoding is not supported: send the body uncompressed (identity)");
        }
    }
}
