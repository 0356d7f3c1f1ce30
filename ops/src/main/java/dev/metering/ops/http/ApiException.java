package dev.metering.ops.http;

/** A request the API refuses, with the message the client sees. */
public class ApiException extends RuntimeException {
    private final ErrorKind kind;
    private final long retryAfterSeconds;

    public ApiException(ErrorKind kind, String message) {
        this(kind, message, 0);
    }

    public ApiException(ErrorKind kind, String message, long retryAfterSeconds) {
        super(message, null, false, false);
        this.kind = kind;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public ErrorKind kind() {
        return kind;
    }

    /** Seconds for the {@code Retry-After} header; 0 for none. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
