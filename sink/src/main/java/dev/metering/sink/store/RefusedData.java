package dev.metering.sink.store;

import java.sql.SQLException;
import java.util.Set;

/**
 * Tells a row PostgreSQL refuses because of its data (a retry cannot succeed) from a database that is unreachable,
 * restarting, full or busy (a retry will succeed), by SQLSTATE.
 *
 * <p>Refused data: class 21 (cardinality violation: one statement writing a row twice), class 22 (data exception: invalid UTF-8 such as NUL, numeric or datetime out of range), class 23
 * (integrity constraint violation: NOT NULL, CHECK, ...), class 54 (program limit exceeded: index row size), and
 * datatype mismatches 42804, 42P18, 42846. Everything else (class 08 connection, 57 operator intervention such as
 * admin shutdown, 53 insufficient resources, 40 serialization failure and deadlock, 25, XX, no SQLSTATE) is an
 * outage: the batch is retried whole, nothing is skipped.
 */
public final class RefusedData {
    private static final Set<String> DATATYPE_MISMATCHES = Set.of("42804", "42P18", "42846");

    private RefusedData() {
    }

    /** The SQLSTATE of the first SQLException in the cause chain, or null. */
    public static String sqlState(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof SQLException sql) {
                for (SQLException next = sql; next != null; next = next.getNextException()) {
                    if (next.getSQLState() != null) {
                        return next.getSQLState();
                    }
                }
                return null;
            }
        }
        return null;
    }

    /** Whether the failure is PostgreSQL refusing the data (not retryable) rather than an outage. */
    public static boolean isRefusedData(Throwable failure) {
        return isRefusedData(sqlState(failure));
    }

    static boolean isRefusedData(String sqlState) {
        if (sqlState == null || sqlState.length() != 5) {
            return false;
        }
        String sqlClass = sqlState.substring(0, 2);
        return sqlClass.equals("21") || sqlClass.equals("22") || sqlClass.equals("23") || sqlClass.equals("54") || DATATYPE_MISMATCHES.contains(sqlState);
    }

    /** "SQLSTATE 54000: index row size ... " for the rejected record's detail. */
    static String describe(Throwable failure) {
        String state = sqlState(failure);
        String message = null;
        for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
            if (cause instanceof SQLException sql) {
                message = sql.getMessage();
                break;
            }
        }
        return "SQLSTATE " + state + ": " + (message != null ? message : failure.getMessage());
    }
}
