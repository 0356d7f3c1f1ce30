package dev.metering.sink.store;

/**
 * The database failed in a way that is not a {@link org.jdbi.v3.core.JdbiException}: the PostgreSQL JDBC
 * driver throws an {@link AssertionError} when a connection dies in the middle of a statement batch.
 * Callers treat it like any other database failure: retry.
 */
public final class DatabaseFailure extends RuntimeException {
    DatabaseFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
