package dev.metering.schemas.registry;

/** The registry refused a call or could not be reached. */
public class SchemaRegistryException extends RuntimeException {
    private final int status;
    private final int errorCode;

    public SchemaRegistryException(String message, int status, int errorCode, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.errorCode = errorCode;
    }

    /** The HTTP status, or -1 when none was received. */
    public int status() {
        return status;
    }

    /** Schema Registry's {@code error_code} (e.g. 40403 schema not found), or -1. */
    public int errorCode() {
        return errorCode;
    }
}
