package dev.metering.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL database: an embedded server (io.zonky binaries, works as root too) or a fresh
 * database on an existing server.
 *
 * <p>Tests call {@link #forTests()}: when {@value #TEST_DATABASE_URL} is set (environment variable or
 * system property, a JDBC URL of a server this user may create databases on) a new database is created
 * there and dropped on close; otherwise an embedded server starts on a free port.
 */
public final class PostgresDatabase implements AutoCloseable {
    public static final String TEST_DATABASE_URL = "METERING_TEST_DATABASE_URL";
    private static final Logger LOG = LoggerFactory.getLogger(PostgresDatabase.class);
    private static final String EMBEDDED_USER = "postgres";

    private final Path dataDir;
    private final boolean deleteOnClose;
    private final int port;
    /** Server settings (postgresql.conf names) laid over the embedded server's defaults. */
    private final Map<String, String> serverSettings;
    private EmbeddedPostgres embedded;

    /** A JDBC URL with rights to create databases: the embedded server's superuser, or the external server's URL. */
    private final String adminUrl;
    private final String externalAdminUrl;
    private final String externalDatabase;
    private final String jdbcUrl;
    private final String username;
    private final String password;

    private PostgresDatabase(Path dataDir, boolean deleteOnClose, int port, Map<String, String> serverSettings) {
        this.dataDir = dataDir;
        this.deleteOnClose = deleteOnClose;
        this.port = port == 0 ? FreePorts.pick() : port;
        this.serverSettings = Map.copyOf(serverSettings);
        this.externalAdminUrl = null;
        this.externalDatabase = null;
        this.jdbcUrl = "jdbc:postgresql://127.0.0.1:" + this.port + "/postgres";
        this.adminUrl = jdbcUrl + "?user=" + EMBEDDED_USER;
        this.username = EMBEDDED_USER;
        this.password = "";
    }

    private PostgresDatabase(String adminUrl, String database, String jdbcUrl, String username, String password) {
        this.dataDir = null;
        this.deleteOnClose = false;
        this.port = -1;
        this.serverSettings = Map.of();
        this.adminUrl = adminUrl;
        this.externalAdminUrl = adminUrl;
        this.externalDatabase = database;
        this.jdbcUrl = jdbcUrl;
        this.username = username;
        this.password = password;
    }

    /** One embedded server for the test classes of a JVM that need a database but not a server of their own. */
    private static PostgresDatabase sharedServer;

    /**
     * A fresh, empty database for one test class (dropped on close): on the server named by {@value #TEST_DATABASE_URL},
     * or on an embedded server the test JVM shares (started on first use, stopped when the JVM exits; starting one takes
     * seconds). Tests that stop and start PostgreSQL take {@link #ownServerForTests()}.
     */
    public static PostgresDatabase forTests() {
        String external = externalTestServer();
        return freshDatabaseOn(external != null ? external : sharedServer().adminUrl);
    }

    /**
     * A database on a server the test may stop and start: an embedded server of its own; with {@value #TEST_DATABASE_URL}
     * a fresh database there, which {@link #isEmbedded()} tells apart (such tests skip the stopping).
     */
    public static PostgresDatabase ownServerForTests() {
        String external = externalTestServer();
        return external != null ? freshDatabaseOn(external) : embedded(null, 0);
    }

    private static String externalTestServer() {
        String external = System.getProperty(TEST_DATABASE_URL, System.getenv(TEST_DATABASE_URL));
        return external == null || external.isBlank() ? null : external.strip();
    }

    private static synchronized PostgresDatabase sharedServer() {
        if (sharedServer == null) {
            PostgresDatabase server = embedded(null, 0);
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "metering-test-postgres-stop"));
            sharedServer = server;
        }
        return sharedServer;
    }

    /**
     * An embedded server. With a data directory its data survives restarts; without one it lives in a
     * temporary directory deleted on close.
     */
    public static PostgresDatabase embedded(Path dataDir, int port) {
        return embedded(dataDir, port, Map.of());
    }

    /** An embedded server with these settings (postgresql.conf names, e.g. {@code shared_buffers}) over its defaults. */
    public static PostgresDatabase embedded(Path dataDir, int port, Map<String, String> serverSettings) {
        PostgresDatabase database = dataDir == null
                ? new PostgresDatabase(Directories.temporary("metering-pg-"), true, port, serverSettings)
                : new PostgresDatabase(dataDir, false, port, serverSettings);
        database.start();
        return database;
    }

    /** A new, empty database on the server {@code adminUrl} (a JDBC URL) points at; dropped on close. */
    public static PostgresDatabase freshDatabaseOn(String adminUrl) {
        String database = "metering_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        try (Connection connection = DriverManager.getConnection(adminUrl); Statement statement = connection.createStatement()) {
            statement.execute("CREATE DATABASE " + database);
            String user = connection.getMetaData().getUserName();
            String url = withDatabase(adminUrl, database);
            LOG.info("Created test database {} on {}", database, adminUrl);
            return new PostgresDatabase(adminUrl, database, url, user, passwordOf(adminUrl));
        } catch (SQLException e) {
            throw new IllegalStateException("Could not create a database on " + adminUrl + ": " + e.getMessage(), e);
        }
    }

    /** Replaces the database name in a {@code jdbc:postgresql://host:port/db?params} URL. */
    static String withDatabase(String jdbcUrl, String database) {
        if (!jdbcUrl.startsWith("jdbc:postgresql://")) {
            throw new IllegalArgumentException(TEST_DATABASE_URL + " must be a jdbc:postgresql:// URL, got " + jdbcUrl);
        }
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return "jdbc:postgresql://" + uri.getRawAuthority() + "/" + database + query;
    }

    private static String passwordOf(String jdbcUrl) {
        int query = jdbcUrl.indexOf('?');
        if (query < 0) {
            return "";
        }
        for (String parameter : jdbcUrl.substring(query + 1).split("&")) {
            if (parameter.toLowerCase(Locale.ROOT).startsWith("password=")) {
                return parameter.substring("password=".length());
            }
        }
        return "";
    }

    public String jdbcUrl() {
        return jdbcUrl;
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    /** A non-pooling DataSource; services put their own pool in front. */
    public DataSource dataSource() {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setUrl(jdbcUrl);
        dataSource.setUser(username);
        if (!password.isEmpty()) {
            dataSource.setPassword(password);
        }
        return dataSource;
    }

    /** A URL with rights to create databases and roles on this database's server. */
    public String adminUrl() {
        return adminUrl;
    }

    /** Whether this is an embedded server of its own, which the caller may stop and start (not a database on a shared one). */
    public boolean isEmbedded() {
        return externalAdminUrl == null;
    }

    private static final Duration STARTUP_WAIT = Duration.ofSeconds(90);

    /** Starts the embedded server (again), keeping its data and port. */
    public synchronized void start() {
        requireEmbedded("start");
        if (embedded != null) {
            return;
        }
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .setServerConfig("max_connections", "200")
                    // zonky's default is 10 s; on 2 busy cores (a parallel test build, a loaded laptop) start-up took longer
                    .setPGStartupWait(STARTUP_WAIT);
            serverSettings.forEach(builder::setServerConfig);
            embedded = builder.start();
            LOG.info("PostgreSQL listening on 127.0.0.1:{} (data in {})", port, dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start embedded PostgreSQL in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    /** Stops the embedded server, keeping its data, so a test can see what clients do while it is gone. */
    public synchronized void stop() {
        requireEmbedded("stop");
        if (embedded != null) {
            try {
                embedded.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                embedded = null;
            }
        }
    }

    @Override
    public synchronized void close() {
        if (isEmbedded()) {
            stop();
            if (deleteOnClose) {
                Directories.deleteRecursively(dataDir);
            }
            return;
        }
        try (Connection connection = DriverManager.getConnection(externalAdminUrl); Statement statement = connection.createStatement()) {
            statement.execute("DROP DATABASE IF EXISTS " + externalDatabase + " WITH (FORCE)");
        } catch (SQLException e) {
            LOG.warn("Could not drop test database {}: {}", externalDatabase, e.getMessage());
        }
    }

    private void requireEmbedded(String action) {
        if (!isEmbedded()) {
            throw new IllegalStateException("Cannot " + action + " an external PostgreSQL server (" + externalAdminUrl + ")");
        }
    }
}
