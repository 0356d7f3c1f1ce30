package dev.metering.sink.store;

import java.time.Duration;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
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
     * Brings the schema up to date.
     *
     * @param connectRetries how often to retry when the database cannot be reached yet (it may be starting)
     */
    public static MigrateResult migrate(DataSource dataSource, int connectRetries, Duration maxRetryInterval) {
        Flyway flyway = Flyway.configure()
                .dataSource(dataSource)
                .locations(LOCATION)
                .connectRetries(connectRetries)
                .connectRetriesInterval((int) Math.max(1, maxRetryInterval.toSeconds()))
                .load();
        MigrateResult result = flyway.migrate();
        LOG.info("Database schema at version {} ({} migrations applied now)",
                result.targetSchemaVersion != null ? result.targetSchemaVersion : flyway.info().current().getVersion(), result.migrationsExecuted);
        return result;
    }
}
