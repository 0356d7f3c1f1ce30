package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.ops.Env;
import dev.metering.sink.periods.PeriodRefresher;
import dev.metering.sink.store.Migrations;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * Migrations and the closed months' maintenance may rightly run longer than the pool's socket timeout: a big table's
 * index, a big tenant's month. Cut off by it they would fail again at every retry (a sink that never starts after an
 * upgrade; a month never rewritten). Here a lock makes them wait 3 s under a socket timeout of 1 s.
 */
class LongStatementsIT {
    private static final Duration SOCKET_TIMEOUT = Duration.ofSeconds(1);
    private static final long LOCK_HELD_MILLIS = 3_000;

    @Test
    void aMigrationWaitingLongerThanTheSocketTimeoutCompletes() throws Exception {
        try (PostgresDatabase database = PostgresDatabase.forTests(); HikariDataSource pool = sinkPool(database)) {
            Flyway.configure().dataSource(database.dataSource()).locations(Migrations.LOCATION).target("11").load().migrate();
            assertThatThrownBy(() -> sleep(pool, 2)).as("an ordinary statement is cut off after the socket timeout")
                    .isInstanceOf(SQLException.class);

            // V12 rebuilds the month index: it waits for a writer's lock on the month table.
            CompletableFuture<Void> holder = holdLock(database, "ROW EXCLUSIVE");
            long start = System.nanoTime();
            int executed = Migrations.migrate(pool, 0, Duration.ofSeconds(1), Duration.ofMinutes(1)).migrationsExecuted;
            double seconds = (System.nanoTime() - start) / 1e9;
            holder.get(10, TimeUnit.SECONDS);

            assertThat(executed).as("V12, after the lock was released").isEqualTo(1);
            assertThat(seconds).as("waited for the lock, beyond the socket timeout").isGreaterThan(2.0);
            assertThatThrownBy(() -> sleep(pool, 2)).as("the pool's connections are back to the socket timeout afterwards")
                    .isInstanceOf(SQLException.class);
        }
    }

    @Test
    void theClosedMonthsRewriteWaitingLongerThanTheSocketTimeoutCompletes() throws Exception {
        try (PostgresDatabase database = PostgresDatabase.forTests(); HikariDataSource pool = sinkPool(database)) {
            Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            PeriodRefresher refresher = new PeriodRefresher(pool, new SinkConfig.PeriodRefresh(Duration.ofSeconds(30), 10),
                    Duration.ofMinutes(1), registry);

            // The rewrite (and the VACUUM after one, on the same kind of connection) reads the month table first.
            CompletableFuture<Void> holder = holdLock(database, "ACCESS EXCLUSIVE");
            long start = System.nanoTime();
            long moved = refresher.orderClosedMonths();
            double seconds = (System.nanoTime() - start) / 1e9;
            holder.get(10, TimeUnit.SECONDS);

            assertThat(moved).as("no closed month in an empty database").isZero();
            assertThat(seconds).as("waited for the lock, beyond the socket timeout").isGreaterThan(2.0);
            assertThat(registry.counter("sink.periods.refresh.failures").count()).isZero();
        }
    }

    /** The sink's own pool (SinkService's settings) on the test database, with a socket timeout of 1 s. */
    private static HikariDataSource sinkPool(PostgresDatabase database) {
        Map<String, String> variables = new HashMap<>();
        variables.put("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9");
        variables.put("SCHEMA_REGISTRY_URL", "mem://long-statements-it");
        variables.put("DATABASE_URL", database.jdbcUrl());
        variables.put("DATABASE_USER", database.username());
        if (!database.password().isEmpty()) {
            variables.put("DATABASE_PASSWORD", database.password());
        }
        variables.put("SINK_DB_SOCKET_TIMEOUT", SOCKET_TIMEOUT.toSeconds() + "s");
        return SinkService.dataSource(SinkConfig.fromEnv(new Env(variables)));
    }

    private static void sleep(HikariDataSource pool, int seconds) throws SQLException {
        try (Connection connection = pool.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_sleep(" + seconds + ")");
        }
    }

    /** Holds a lock on the month table for {@value #LOCK_HELD_MILLIS} ms, on a connection of its own; returns once it is held. */
    private static CompletableFuture<Void> holdLock(PostgresDatabase database, String mode) throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CompletableFuture<Void> holder = CompletableFuture.runAsync(() -> {
            try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement()) {
                connection.setAutoCommit(false);
                statement.execute("LOCK TABLE usage_monthly_rollups IN " + mode + " MODE");
                held.countDown();
                Thread.sleep(LOCK_HELD_MILLIS);
                connection.commit();
            } catch (SQLException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(held.await(10, TimeUnit.SECONDS)).as("lock taken").isTrue();
        return holder;
    }
}
