package dev.metering.sink.store;

import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs the Flyway migrations in {@code db/migration} (tables, analyst views, analyst role). */
public final class Migrations {
    private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
    public static final String LOCATION = "classpath:db/migration";

    private Migrations() {
    }

    /**
     * Brings the schema up to date, each migration on a connection allowed {@code migrationTimeout} for a statement
     * ({@link LongStatements}): an index built on a big table may take longer than the pool's socket timeout, and a
     * migration cut off by it would fail again at every start.
     *
     * @param connectRetries how often to retry when the database cannot be reached yet (it may be starting)
     */
    public static MigrateResult migrate(DataSource dataSource, int connectRetries, Duration maxRetryInterval, Duration migrationTimeout) {
        return migrate(configure(dataSource, connectRetries, maxRetryInterval).callbacks(new AllowLongStatements(migrationTimeout)));
    }

    /** Brings the schema up to date on connections as the data source gives them. */
    public static MigrateResult migrate(DataSource dataSource, int connectRetries, Duration maxRetryInterval) {
        return migrate(configure(dataSource, connectRetries, maxRetryInterval));
    }

    private static FluentConfiguration configure(DataSource dataSource, int connectRetries, Duration maxRetryInterval) {
        return Flyway.configure()
                .dataSource(dataSource)
                .locations(LOCATION)
                .connectRetries(connectRetries)
                .connectRetriesInterval((int) Math.max(1, maxRetryInterval.toSeconds()));
    }

    private static MigrateResult migrate(FluentConfiguration configuration) {
        Flyway flyway = configuration.load();
        MigrateResult result = flyway.migrate();
        LOG.info("Database schema at version {} ({} migrations applied now)",
                result.targetSchemaVersion != null ? result.targetSchemaVersion : flyway.info().current().getVersion(), result.migrationsExecuted);
        return result;
    }

    /** Before each migration, allows the connection that runs it the longer timeout. */
    private record AllowLongStatements(Duration timeout) implements Callback {
        @Override
        public boolean supports(Event event, Context context) {
            return event == Event.BEFORE_EACH_MIGRATE;
        }

        @Override
        public boolean canHandleInTransaction(Event event, Context context) {
            return true;
        }

        @Override
        public void handle(Event event, Context context) {
            try {
                LongStatements.allow(context.getConnection(), timeout);
            } catch (SQLException e) {
                throw new FlywayException("Could not allow the migration's connection " + timeout + " per statement: " + e.getMessage(), e);
            }
        }

        @Override
        public String getCallbackName() {
            return "allow-long-statements";
        }
    }
}
