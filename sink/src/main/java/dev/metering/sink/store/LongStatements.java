package dev.metering.sink.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Statements that may rightly run longer than the pool's socket timeout ({@code SINK_DB_SOCKET_TIMEOUT}): migrations,
 * the rewrite of a closed month and the VACUUM after it. Under that timeout a big enough one would fail every time it
 * is retried. The connection keeps the longer timeout until it goes back to the pool, which restores the pool's.
 */
public final class LongStatements {
    private LongStatements() {
    }

    public static void allow(Connection connection, Duration timeout) throws SQLException {
        // pgjdbc applies the timeout to its socket at once and does not use the executor.
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    }
}
