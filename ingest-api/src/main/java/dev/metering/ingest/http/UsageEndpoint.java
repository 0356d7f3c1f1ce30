package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.UsageEvent;
import dev.metering.ingest.kafka.UsageEventPublisher;
import dev.metering.ingest.revert.DuplicateCheck;
import dev.metering.ingest.revert.RevertService;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.RequestRules;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
     * What the endpoints share. {@code reverts} and {@code duplicates} answer with the aggregator's verdicts (reverts;
     * "was this usage applied before?").
     */
    public record Support(ObjectMapper json, RequestRules rules, UsageEventPublisher publisher, RateLimiter rateLimiter,
                          IngestMetrics metrics, long maxBodyBytes, long retryAfterSeconds, String deliveryTimeoutText,
                          RevertService reverts, DuplicateCheck duplicates) {
    }

    /** The events of a valid request and the body to answer once they are acknowledged. */
    public record Prepared(List<UsageEvent> events, Object successBody) {
    }

    /** The answer to a request whose events were sent: status and JSON body. */
    public record Reply(int status, Object body) {
    }

    protected final Support support;
    private final String api;
    private final ErrorFormat errorFormat;

    protected UsageEndpoint(Support support, String api, ErrorFormat errorFormat) {
        this.support = support;
        this.api = api;
        this.errorFormat = errorFormat;
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
     * Sends the prepared events and completes with the answer; by default once Kafka acknowledged every event, with
     * 200 and the prepared body. An endpoint that answers with the aggregator's verdict (reverts; Frontier's 409 on
     * duplicates) overrides this; a future failing with an {@link ApiException} is answered with it, any other
     * failure as Kafka not acknowledging (503).
     */
    protected CompletableFuture<Reply> send(Prepared prepared) {
        return support.publisher().publish(prepared.events()).thenApply(ok -> new Reply(200, prepared.successBody()));
    }

    @Override
    public final void handle(@NotNull Context ctx) {
        ctx.attribute(API_ATTRIBUTE, api);
        JsonNode body = null;
        try {
            P principal = authenticate(ctx);
            support.rateLimiter().acquire(api + ":" + principalName(principal));
            body = readJson(ctx);
            Prepared prepared = prepare(ctx, body, principal);
            int count = prepared.events().size();
            if (count == 0) {
                respond(ctx, 200, prepared.successBody());
                return;
            }
            ctx.future(() -> send(prepared).handle((reply, error) -> {
                if (error == null) {
                    support.metrics().eventsAccepted(api, count);
                    respond(ctx, reply.status(), reply.body());
                } else {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                    ApiException failure = cause instanceof ApiException answer ? answer : produceFailure(error);
                    support.metrics().eventsRejected(api, failure.kind().metricReason(), count);
                    respondError(ctx, failure);
                }
                return null;
            }));
        } catch (InvalidFieldException e) {
            support.metrics().eventsRejected(api, e.reason().name().toLowerCase(Locale.ROOT), eventCount(body));
            respondError(ctx, e);
        } catch (ApiException e) {
            support.metrics().eventsRejected(api, e.kind().metricReason(), body == null ? 1 : eventCount(body));
            respondError(ctx, e);
        } catch (RuntimeException e) {
            ApiException answer = Errors.toApiException(e);
            if (answer.kind() == ErrorKind.INTERNAL) {
                LOG.error("Unexpected error in {} endpoint", api, e);
            }
            support.metrics().eventsRejected(api, answer.kind().metricReason(), body == null ? 1 : eventCount(body));
            respondError(ctx, answer);
        }
    }

    private ApiException produceFailure(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        LOG.warn("Kafka did not acknowledge events of a {} request: {}", api, cause.toString());
        return Errors.notAcknowledged(cause, support.deliveryTimeoutText(), support.retryAfterSeconds());
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
        long max = support.maxBodyBytes();
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
            return support.json().readTree(bytes);
        } catch (IOException e) {
            throw Errors.unreadableBody(e);
        }
    }

    private static ApiException tooLarge(long max) {
        return new ApiException(ErrorKind.PAYLOAD_TOO_LARGE, "request body is larger than " + max + " bytes");
    }

    private void respond(Context ctx, int status, Object body) {
        try {
            ctx.status(status).contentType("application/json").result(support.json().writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Could not write a response body", e);
        }
    }

    private void respondError(Context ctx, ApiException e) {
        if (e.retryAfterSeconds() > 0) {
            ctx.header("Retry-After", Long.toString(e.retryAfterSeconds()));
        }
        if (e.kind() == ErrorKind.UNAUTHENTICATED && authenticateChallenge() != null) {
            ctx.header("WWW-Authenticate", authenticateChallenge());
        }
        respond(ctx, errorFormat.status(e.kind()), errorFormat.render(support.json(), e.kind(), e.getMessage()));
    }
}
