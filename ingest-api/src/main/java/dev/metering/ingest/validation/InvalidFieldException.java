package dev.metering.ingest.validation;

import dev.metering.ingest.http.ApiException;
import dev.metering.ingest.http.ErrorKind;

/**
 * A field of the request that breaks a rule. The message starts with the field's path as the client wrote
 * it ({@code usages[1].amount}), then says what is wrong.
 */
public final class InvalidFieldException extends ApiException {
    /** Why an event is refused, for the {@code reason} tag of the rejected-events metric. */
    public enum Reason {
        INVALID, FUTURE, LATE, DUPLICATE
    }

    private final String field;
    private final Reason reason;

    public InvalidFieldException(String field, String problem) {
        this(field, problem, Reason.INVALID);
    }

    public InvalidFieldException(String field, String problem, Reason reason) {
        this(field, problem, reason, reason == Reason.DUPLICATE ? ErrorKind.ALREADY_EXISTS : ErrorKind.INVALID_ARGUMENT);
    }

    private InvalidFieldException(String field, String problem, Reason reason, ErrorKind kind) {
        super(kind, field.isEmpty() ? problem : field + " " + problem);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    public Reason reason() {
        return reason;
    }
}
