package dev.metering.sink.periods;

import dev.metering.sink.SinkConfig.PeriodRefresh;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the day and month tables up to date with the hours, in the background (migration V9): every interval it
 * re-folds the days that have been stale for at least that long, in transactions of its own. The views are exact
 * whether it runs or not; it only decides how much of a question they fold from hours on read. A failed refresh
 * (database down) is counted, logged and tried again at the next interval; nothing is lost, the marks stay.
 */
public final class PeriodRefresher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeriodRefresher.class);

    private final Jdbi jdbi;
    private final PeriodRefresh settings;
    private final Counter daysRefreshed;
    private final Counter failures;
    private final Timer transactionLatency;
    private ScheduledExecutorService executor;

    public PeriodRefresher(DataSource dataSource, PeriodRefresh settings, MeterRegistry registry) {
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        this.settings = Objects.requireNonNull(settings);
        daysRefreshed = Counter.builder("sink.periods.days.refreshed")
                .description("Stale days re-folded from their hours into usage_daily_rollups (with their months)").register(registry);
        failures = Counter.builder("sink.periods.refresh.failures")
                .description("Period refreshes that failed (retried at the next interval)").register(registry);
        transactionLatency = Timer.builder("sink.periods.refresh.latency")
                .description("Time of one period refresh transaction").register(registry);
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
        long millis = settings.interval().toMillis();
        executor.scheduleWithFixedDelay(this::refreshQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }

    /**
     * Re-folds every day stale for at least {@code minAge} (and their months), one transaction per batch of days,
     * until fewer than a batch are left. Returns how many days it re-folded (0 also when another refresh was running).
     */
    public int refreshStale(Duration minAge) {
        int total = 0;
        int done;
        do {
            long start = System.nanoTime();
            done = jdbi.withExtension(PeriodRefreshDao.class, dao -> dao.refresh(settings.batchDays(), minAge.toMillis()));
            transactionLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            daysRefreshed.increment(done);
            total += done;
        } while (done == settings.batchDays() && !Thread.currentThread().isInterrupted());
        return total;
    }

    /** Days marked stale and not yet re-folded. */
    public long staleDays() {
        return jdbi.withExtension(PeriodRefreshDao.class, PeriodRefreshDao::staleDays);
    }

    private void refreshQuietly() {
        try {
            refreshStale(settings.interval());
        } catch (RuntimeException e) {
            failures.increment();
            LOG.warn("Refreshing the day and month tables failed; retrying in {} (the views stay exact meanwhile): {}",
                    settings.interval(), e.toString());
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
