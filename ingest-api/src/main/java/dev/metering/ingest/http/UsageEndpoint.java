package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.UsageEvent;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.RequestRules;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.jetbrains.annotations.NotNull;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every usage endpoint does, in this order: authenticate, rate-limit, read a JSON body (content type,
 * size), validate and map the whole request to events, produce them, and answer 2xx only once Kafka
 * acknowledged every one. Nothing is produced for a request refused before that point. The answer waits
 * asynchronously ({@code ctx.future}), so a slow broker holds no HTTP thread.
 */
public abstract class UsageEndpoint<P> implements Handler {
    public static final String API_ATTRIBUTE = "ingest.api";
    private static final Logger LOG = LoggerFactory.getLogger(UsageEndpoint.class);

    /**
     * What the base class uses for every request: the JSON mapper, the rate limit, the metrics, the body limit and
     * the error mapper. What an endpoint sends its events with (a publisher, the revert service, the duplicate check)
     * and the rules it validates with are its own constructor's parameters.
     */
    public record Http(ObjectMapper json, RateLimiter rateLimiter, IngestMetrics metrics, long maxBodyBytes, Errors errors) {
    }

    /** The events of a valid request and the body to answer once they are acknowledged. */
    public record Prepared(List<UsageEvent> events, Object successBody) {
    }

    /** The answer to a request whose events were sent: status and JSON body. */
    public record Reply(int status, Object body) {
    }

    private final Http http;
    private final String api;
    private final ErrorFormat errorFormat;

    protected UsageEndpoint(Http http, String api, ErrorFormat errorFormat) {
        this.http = http;
        this.api = api;
        this.errorFormat = errorFormat;
    }

    protected final ObjectMapper json() {
        return http.json();
    }

    protected final IngestMetrics metrics() {
        return http.metrics();
    }

    /** @return the credential the request was sent with; throws {@link ApiException} when there is none */
    protected abstract P authenticate(Context ctx);

    /** The principal's name (user, subject or key name), for the rate limit. */
    protected abstract String principalName(P principal);

    /**
     * Validates the whole request and maps it to events, each in the tenant the credential acts for; throws
     * {@link ApiException} for anything wrong. Every event must pass {@link RequestRules#check} before it is returned.
     */
    protected abstract Prepared prepare(Context ctx, JsonNode body, P principal);

    /** How many events the body holds, for the rejection metric. */
    protected int eventCount(JsonNode body) {
        return 1;
    }

    /** The {@code WWW-Authenticate} challenge of a 401 answer, or null for none. */
    protected String authenticateChallenge() {
        return null;
    }

    /**
     * Sends the prepared events and completes with the answer, e.g. once they are published with 200 and the prepared
     * body, or with the aggregator's verdict (reverts; Frontier's 409 on duplicates). A future failing is answered
     * through {@link Errors}: an {@link ApiException} as it is, events not stored as 503.
     */
    protected abstract CompletableFuture<Reply> send(Prepared prepared);

    @Override
    public final void handle(@NotNull Context ctx) {
        ctx.attribute(API_ATTRIBUTE, api);
        JsonNode body = null;
        try {
            P principal = authenticate(ctx);
            http.rateLimiter().acquire(api + ":" + principalName(principal));
            body = readJson(ctx);
            Prepared prepared = prepare(ctx, body, principal);
            int count = prepared.events().size();
            if (count == 0) {
                respond(ctx, 200, prepared.successBody());
                return;
            }
            ctx.future(() -> send(prepared).handle((reply, error) -> {
                if (error == null) {
                    http.metrics().eventsAccepted(api, count);
                    respond(ctx, reply.status(), reply.body());
                } else {
                    ApiException failure = http.errors().toApiException(error);
                    if (failure.kind() == ErrorKind.UNAVAILABLE || failure.kind() == ErrorKind.PAYLOAD_TOO_LARGE) {
                        LOG.warn("A {} request was answered {}: {}", api, failure.kind(), Errors.unwrap(error).toString());
                    }
                    http.metrics().eventsRejected(api, failure.kind().metricReason(), count);
                    respondError(ctx, error);
                }
                return null;
            }));
        } catch (InvalidFieldException e) {
            http.metrics().eventsRejected(api, e.reason().name().toLowerCase(Locale.ROOT), eventCount(body));
            respondError(ctx, e);
        } catch (RuntimeException e) {
            ApiException answer = http.errors().toApiException(e);
            http.metrics().eventsRejected(api, answer.kind().metricReason(), body == null ? 1 : eventCount(body));
            respondError(ctx, e);
        }
    }

    /** Refuses a request whose headers say the body is not plain JSON this endpoint reads (415 by default). */
    protected void checkBodyHeaders(Context ctx) {
        String contentType = ctx.contentType();
        if (!mediaType(contentType).equals("application/json")) {
            throw new ApiException(ErrorKind.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json, got "
                    + (contentType == null ? "none" : "'" + contentType + "'"));
        }
    }

    /** The media type of a Content-Type header, lower-cased, without parameters; "" for none. */
    protected static String mediaType(String contentType) {
        return contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    }

    private JsonNode readJson(Context ctx) {
        checkBodyHeaders(ctx);
        long max = http.maxBodyBytes();
        if (ctx.req().getContentLengthLong() > max) {
            throw tooLarge(max);
        }
        byte[] bytes;
        try (InputStream in = ctx.req().getInputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        } catch (IOException e) {
            throw Errors.unreadableBody(e);
        }
        if (bytes.length > max) {
            throw tooLarge(max);
        }
        if (bytes.length == 0) {
            throw new ApiException(ErrorKind.INVALID_ARGUMENT, "request body is empty; send a JSON object");
        }
        try {
            return http.json().readTree(bytes);
        } catch (IOException e) {
            throw Errors.unreadableBody(e);
        }
    }

    private static ApiException tooLarge(long max) {
        return new ApiException(ErrorKind.PAYLOAD_TOO_LARGE, "request body is larger than " + max + " bytes");
    }

    private void respond(Context ctx, int status, Object body) {
        try {
            ctx.status(status).contentType("application/json").result(http.json().writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Could not write a response body", e);
        }
    }

    private void respondError(Context ctx, Throwable error) {
        http.errors().respond(ctx, errorFormat, error, authenticateChallenge());
    }
}
