package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.publish.PublishFailure;
import dev.metering.schemas.rules.RuleViolation;
import io.javalin.http.Context;
import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Locale;

/**
 * The one place that turns an exception into what a client reads: {@link #toApiException} maps every kind of failure
 * (a refusal, a rule violation, events not stored, anything unexpected) to an {@link ApiException}, and
 * {@link #respond} writes it in the API's error shape ({@link ErrorFormat}) with its status and headers. Every answer
 * is worded here (or by our own validation); a library's message (Jackson's, Kafka's, Jetty's) never reaches a
 * response, because it is not an API: it changes between versions, may quote internals, and helps no client.
 */
public final class Errors {
    private static final Logger LOG = LoggerFactory.getLogger(Errors.class);

    private final ObjectMapper json;
    private final String deliveryTimeoutText;
    private final long retryAfterSeconds;

    /**
     * @param deliveryTimeoutText how long the store may take to acknowledge, as the 503 answer names it
     * @param retryAfterSeconds   the {@code Retry-After} of a 503
     */
    public Errors(ObjectMapper json, String deliveryTimeoutText, long retryAfterSeconds) {
        this.json = json;
        this.deliveryTimeoutText = deliveryTimeoutText;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** The {@code Retry-After} seconds of an answer asking to come back later. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /**
     * Any exception of a request as the answer's {@link ApiException}: refusals as they are, a rule violation that
     * escaped renaming under its rule name, events the store did not acknowledge as 503 (413 when too large), anything
     * else as an internal error whose details stay in the log.
     */
    public ApiException toApiException(Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof ApiException api) {
            return api;
        }
        if (e instanceof RuleViolation violation) {
            return InvalidFieldException.of(violation, violation.field());
        }
        if (e instanceof PublishFailure failure) {
            if (failure.tooLarge()) {
                return new ApiException(ErrorKind.PAYLOAD_TOO_LARGE, "an event is larger than Kafka accepts; send smaller events");
            }
            return new ApiException(ErrorKind.UNAVAILABLE, "Kafka did not acknowledge the events within " + deliveryTimeoutText
                    + "; nothing is confirmed, retry later with the same ids", retryAfterSeconds);
        }
        return new ApiException(ErrorKind.INTERNAL, "internal error; nothing was written");
    }

    /**
     * Answers the request with {@code error} in {@code format}: its status, {@code Retry-After} when it has one, the
     * {@code WWW-Authenticate} challenge (if any) on a 401. An internal error is logged with its cause.
     */
    public void respond(Context ctx, ErrorFormat format, Throwable error, String challenge) {
        ApiException answer = toApiException(error);
        if (answer.kind() == ErrorKind.INTERNAL) {
            LOG.error("Unexpected error answering {} {}", ctx.method(), ctx.path(), unwrap(error));
        }
        if (answer.retryAfterSeconds() > 0) {
            ctx.header("Retry-After", Long.toString(answer.retryAfterSeconds()));
        }
        if (answer.kind() == ErrorKind.UNAUTHENTICATED && challenge != null) {
            ctx.header("WWW-Authenticate", challenge);
        }
        ctx.status(format.status(answer.kind())).contentType("application/json");
        try {
            ctx.result(json.writeValueAsBytes(format.render(json, answer.kind(), answer.getMessage())));
        } catch (IOException e) {
            ctx.result("{}");
        }
    }

    static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** What went wrong while reading the request body as JSON. */
    public static ApiException unreadableBody(Exception e) {
        if (e instanceof StreamConstraintsException) {
            return new ApiException(ErrorKind.INVALID_ARGUMENT,
                    "request body is not acceptable JSON: it nests too deeply or holds a number or string longer than this server reads");
        }
        if (e instanceof MismatchedInputException mismatch && mismatch.getMessage() != null
                && mismatch.getMessage().toLowerCase(Locale.ROOT).contains("trailing token")) {
            return new ApiException(ErrorKind.INVALID_ARGUMENT, "request body is not valid JSON: there is content after the JSON value" + at(mismatch));
        }
        if (e instanceof JsonProcessingException json) {
            String message = json.getOriginalMessage() == null ? "" : json.getOriginalMessage().toLowerCase(Locale.ROOT);
            String what = message.startsWith("duplicate field") ? "a member name appears twice in one object"
                    : message.contains("unexpected end-of-input") ? "it ends before the JSON value is complete"
                    : message.contains("invalid utf") ? "it is not UTF-8"
                    : "it does not follow the JSON grammar";
            return new ApiException(ErrorKind.INVALID_ARGUMENT, "request body is not valid JSON: " + what + at(json));
        }
        return new ApiException(ErrorKind.INVALID_ARGUMENT, "could not read the request body; send it again");
    }

    private static String at(JsonProcessingException e) {
        return e.getLocation() == null || e.getLocation().getLineNr() < 1 ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }
}
