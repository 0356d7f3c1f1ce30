package dev.metering.sink.periods;

import dev.metering.sink.SinkConfig.PeriodRefresh;
import dev.metering.sink.store.LongStatements;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.sql.DataSource;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the day and month tables up to date with the hours, in the background (migration V9): once a second it
 * re-folds, in one transaction, up to a batch of the days that have been stale for at least the interval (oldest
 * first). So the refresh costs PostgreSQL at most a batch of days per second, spread evenly, instead of bursts that
 * would compete with the sink's writes. The views are exact whether it runs or not; it only decides how much of a
 * question they fold from hours on read. A failed refresh (database down) is counted, logged and tried again a second
 * later; nothing is lost, the marks stay.
 *
 * <p>Every {@code SINK_MONTH_ORDER_INTERVAL} the same thread also rewrites the rows of each closed month in account
 * order (migration V11), one tenant's month per transaction, so that the month's bill lines read the table in order,
 * and then vacuums the month table, so that they are read from the month index alone (V12).
 */
public final class PeriodRefresher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeriodRefresher.class);

    private final Jdbi jdbi;
    private final PeriodRefresh settings;
    /** How long the rewrite of a closed month and the VACUUM after it may run (SINK_DB_MAINTENANCE_TIMEOUT). */
    private final Duration maintenanceTimeout;
    private final Counter daysRefreshed;
    private final Counter failures;
    private final Timer transactionLatency;
    private final Counter monthRowsOrdered;
    private final Timer monthTableVacuum;
    /** Set once a rewrite committed, cleared once the month table was vacuumed: a failed vacuum is tried again. */
    private volatile boolean monthTableVacuumDue;
    private static final Duration TICK = Duration.ofSeconds(1);
    private ScheduledExecutorService executor;

    public PeriodRefresher(DataSource dataSource, PeriodRefresh settings, Duration maintenanceTimeout, MeterRegistry registry) {
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        this.settings = Objects.requireNonNull(settings);
        this.maintenanceTimeout = Objects.requireNonNull(maintenanceTimeout);
        daysRefreshed = Counter.builder("sink.periods.days.refreshed")
                .description("Stale days re-folded from their hours into usage_daily_rollups (with their months)").register(registry);
        failures = Counter.builder("sink.periods.refresh.failures")
                .description("Period refreshes and closed-month rewrites that failed (retried at the next interval)").register(registry);
        transactionLatency = Timer.builder("sink.periods.refresh.latency")
                .description("Time of one period refresh transaction").register(registry);
        monthRowsOrdered = Counter.builder("sink.periods.month.rows.ordered")
                .description("Rows of closed months rewritten in account order (usage_monthly_rollups)").register(registry);
        monthTableVacuum = Timer.builder("sink.periods.month.vacuum")
                .description("VACUUM of usage_monthly_rollups after closed months were rewritten").register(registry);
    }

    public synchronized void start() {
        if (executor != null) {
            throw new IllegalStateException("already started");
        }
        executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "metering-sink-period-refresh");
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(this::refreshOneBatchQuietly, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
        long monthOrderMillis = settings.monthOrderInterval().toMillis();
        executor.scheduleWithFixedDelay(this::orderClosedMonthsQuietly, monthOrderMillis, monthOrderMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Rewrites every closed month not yet in account order, one tenant's month per transaction; this sink's next refresh
     * waits for it, and while another sink's refresh holds the lock it stops early (the rest at the next interval).
     * When it moved any row it vacuums the month table, without waiting for autovacuum, which would take its time on a
     * table of many months: only then do the months' bill lines come from the index alone (a failed vacuum is tried
     * again at the next interval). Returns how many rows it moved.
     */
    public long orderClosedMonths() {
        long total = 0;
        long moved;
        do {
            moved = maintenance(dao -> dao.orderClosedMonth(settings.monthClosedAfter().toMillis()));
            monthRowsOrdered.increment(moved);
            total += moved;
            monthTableVacuumDue |= moved > 0;
        } while (moved > 0 && !Thread.currentThread().isInterrupted());
        if (monthTableVacuumDue) {
            long start = System.nanoTime();
            maintenance(dao -> {
                dao.vacuumMonthTable();
                return null;
            });
            long nanos = System.nanoTime() - start;
            monthTableVacuum.record(nanos, TimeUnit.NANOSECONDS);
            monthTableVacuumDue = false;
            LOG.info("Vacuumed usage_monthly_rollups after rewriting closed months ({} rows this time) in {} ms", total, nanos / 1_000_000);
        }
        return total;
    }

    /** A month's rewrite or the VACUUM: on a connection allowed the maintenance timeout, as a big month needs. */
    private <R> R maintenance(Function<PeriodRefreshDao, R> work) {
        return jdbi.withHandle(handle -> {
            try {
                LongStatements.allow(handle.getConnection(), maintenanceTimeout);
            } catch (SQLException e) {
                throw new ConnectionException(e);
            }
            return work.apply(handle.attach(PeriodRefreshDao.class));
        });
    }

    private void orderClosedMonthsQuietly() {
        try {
            long moved = orderClosedMonths();
            if (moved > 0) {
                LOG.info("Rewrote {} rows of closed months in account order", moved);
            }
        } catch (RuntimeException e) {
            failures.increment();
            LOG.warn("Rewriting closed months in account order failed; retrying in {}: {}", settings.monthOrderInterval(), e.toString());
        }
    }

    /**
     * Re-folds every day stale for at least {@code minAge} (and their months), one transaction per batch of days,
     * until fewer than a batch are left. Returns how many days it re-folded (0 also when another refresh was running).
     */
    public int refreshStale(Duration minAge) {
        int total = 0;
        int done;
        do {
            done = refreshBatch(minAge);
            total += done;
        } while (done == settings.batchDays() && !Thread.currentThread().isInterrupted());
        return total;
    }

    private int refreshBatch(Duration minAge) {
        long start = System.nanoTime();
        int done = jdbi.withExtension(PeriodRefreshDao.class, dao -> dao.refresh(settings.batchDays(), minAge.toMillis()));
        transactionLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        daysRefreshed.increment(done);
        return done;
    }

    private void refreshOneBatchQuietly() {
        try {
            refreshBatch(settings.interval());
        } catch (RuntimeException e) {
            failures.increment();
            LOG.warn("Refreshing the day and month tables failed; retrying in {} (the views stay exact meanwhile): {}", TICK, e.toString());
        }
    }

    @Override
    public synchronized void close() {
        if (executor == null) {
            return;
        }
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("The period refresh did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
