package dev.metering.ingest.http;

import dev.metering.ops.http.ErrorFormat;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ops.http.ApiException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.schemas.rules.RuleViolation;
import java.util.Locale;
import org.apache.kafka.common.errors.RecordTooLargeException;

/**
 * The one place that turns an exception into what a client reads. Every answer is worded here (or by our own
 * validation); a library's message (Jackson's, Kafka's, Jetty's) never reaches a response, because it is not an
 * API: it changes between versions, may quote internals, and helps no client. The status and the API's error shape
 * come from {@link ErrorKind} and {@link ErrorFormat}.
 */
public final class Errors {
    private Errors() {
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

    /** Kafka refused or did not acknowledge the events of a request. */
    public static ApiException notAcknowledged(Throwable cause, String deliveryTimeout, long retryAfterSeconds) {
        if (cause instanceof RecordTooLargeException) {
            return new ApiException(ErrorKind.PAYLOAD_TOO_LARGE, "an event is larger than Kafka accepts; send smaller events");
        }
        return new ApiException(ErrorKind.UNAVAILABLE, "Kafka did not acknowledge the events within " + deliveryTimeout
                + "; nothing is confirmed, retry later with the same ids", retryAfterSeconds);
    }

    /**
     * Any exception of a request as the answer's {@link ApiException}: refusals as they are, a rule violation that
     * escaped renaming under its rule name, anything else as an internal error whose details stay in the log.
     */
    public static ApiException toApiException(Throwable e) {
        if (e instanceof ApiException api) {
            return api;
        }
        if (e instanceof RuleViolation violation) {
            return InvalidFieldException.of(violation, violation.field());
        }
        return new ApiException(ErrorKind.INTERNAL, "internal error; nothing was written");
    }

    private static String at(JsonProcessingException e) {
        return e.getLocation() == null || e.getLocation().getLineNr() < 1 ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }
}
