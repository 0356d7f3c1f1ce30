package dev.metering.query;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The query API reads PostgreSQL through a role that can only read: a login role that is a member of
 * {@code metering_query} (sink migration V6), never the sink's owner role. The API checks this when it starts.
 */
public final class ReadOnlyRole {
    /** The NOLOGIN role V6 grants SELECT on the hours and the sink's progress. */
    public static final String GROUP_ROLE = "metering_query";
    private static final Pattern ROLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private ReadOnlyRole() {
    }

    /**
     * Creates (or updates the password of) a login role that is a member of {@value #GROUP_ROLE}, through a connection
     * of a user allowed to create roles (the standalone launcher's and the tests' superuser). The migrations must have
     * run on that database first.
     */
    public static void createLoginRole(DataSource admin, String role, String password) {
        if (!ROLE_NAME.matcher(role).matches()) {
            throw new IllegalArgumentException("role name must match " + ROLE_NAME.pattern());
        }
        String quotedPassword = "'" + password.replace("'", "''") + "'";
        try (Connection connection = admin.getConnection(); Statement statement = connection.createStatement()) {
            boolean exists;
            try (PreparedStatement check = connection.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
                check.setString(1, role);
                try (ResultSet rs = check.executeQuery()) {
                    exists = rs.next();
                }
            }
            if (exists) {
                statement.execute("ALTER ROLE " + role + " LOGIN PASSWORD " + quotedPassword);
                statement.execute("GRANT " + GROUP_ROLE + " TO " + role);
            } else {
                statement.execute("CREATE ROLE " + role + " LOGIN PASSWORD " + quotedPassword + " IN ROLE " + GROUP_ROLE);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create the query API's role " + role + ": " + e.getMessage(), e);
        }
    }

    /**
     * Refuses a connection whose user could change the rollups (a superuser, the owner, or anyone with a write privilege
     * on usage_rollups or sink_offsets), or that cannot read what the API reads.
     */
    static void verify(Connection connection) throws SQLException {
        String sql = """
                SELECT current_user AS role,
                       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
                       to_regclass('usage_rollups') IS NOT NULL AS migrated,
                       to_regclass('usage_rollups') IS NOT NULL AND (
                           has_table_privilege('usage_rollups', 'INSERT') OR has_table_privilege('usage_rollups', 'UPDATE')
                           OR has_table_privilege('usage_rollups', 'DELETE') OR has_table_privilege('usage_rollups', 'TRUNCATE')
                           OR has_table_privilege('sink_offsets', 'INSERT') OR has_table_privilege('sink_offsets', 'UPDATE')
                           OR has_table_privilege('sink_offsets', 'DELETE') OR has_table_privilege('sink_offsets', 'TRUNCATE')) AS writes,
                       to_regclass('usage_rollups') IS NOT NULL AND has_table_privilege('usage_rollups', 'SELECT')
                           AND has_column_privilege('sink_offsets', 'updated_at', 'SELECT')
                           AND (to_regclass('usage_periods_stale') IS NULL OR has_table_privilege('usage_periods_stale', 'SELECT')) AS reads
                """;
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            String role = rs.getString("role");
            if (rs.getBoolean("superuser") || rs.getBoolean("writes")) {
                throw new IllegalStateException("DATABASE_USER " + role + " may change the rollups; the query API connects only with a read-only role: "
                        + "CREATE ROLE query_api LOGIN PASSWORD '...' IN ROLE " + GROUP_ROLE + " (see query-api/README.md)");
            }
            if (!rs.getBoolean("migrated")) {
                throw new IllegalStateException("usage_rollups does not exist (yet): the sink creates it when it starts");
            }
            if (!rs.getBoolean("reads")) {
                throw new IllegalStateException("DATABASE_USER " + role + " may not read usage_rollups, sink_offsets and usage_periods_stale: GRANT "
                        + GROUP_ROLE + " TO " + role + " (the sink's migration V12 lets " + GROUP_ROLE + " read usage_periods_stale: start the sink first)");
            }
        }
    }
}
