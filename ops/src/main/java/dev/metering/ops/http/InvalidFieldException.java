package dev.metering.ops.http;

import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.schemas.rules.RuleViolation;

/**
 * A field of the request that breaks a rule. The message starts with the field's name as the client wrote
 * it ({@code usages[1].amount}, {@code billingId}, {@code Idempotency-Key header}), then says what is wrong.
 */
public final class InvalidFieldException extends ApiException {
    /** Why an event is refused, for the {@code reason} tag of the rejected-events metric. */
    public enum Reason {
        INVALID, FUTURE, LATE, DUPLICATE, FORBIDDEN
    }

    private final String field;
    private final String problem;
    private final Reason reason;

    public InvalidFieldException(String field, String problem) {
        this(field, problem, Reason.INVALID);
    }

    public InvalidFieldException(String field, String problem, Reason reason) {
        super(kindOf(reason), field.isEmpty() ? problem : field + " " + problem);
        this.field = field;
        this.problem = problem;
        this.reason = reason;
    }

    /** The same refusal, reported under another name for the field (e.g. its path in the request). */
    public InvalidFieldException renamed(String fieldName) {
        return new InvalidFieldException(fieldName, problem, reason);
    }

    /** A violation of the shared event rules, reported under the request's own name for the field. */
    public static InvalidFieldException of(RuleViolation violation, String field) {
        Reason reason = switch (violation.kind()) {
            case FUTURE -> Reason.FUTURE;
            case LATE -> Reason.LATE;
            case MISSING, INVALID -> Reason.INVALID;
        };
        return new InvalidFieldException(field, violation.problem(), reason);
    }

    private static ErrorKind kindOf(Reason reason) {
        return switch (reason) {
            case DUPLICATE -> ErrorKind.ALREADY_EXISTS;
            case FORBIDDEN -> ErrorKind.PERMISSION_DENIED;
            default -> ErrorKind.INVALID_ARGUMENT;
        };
    }

    public String field() {
        return field;
    }

    public Reason reason() {
        return reason;
    }
}
