package dev.metering.sink.periods;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The SQL of the period refresh; the work itself is done by the functions of migrations V9 and V11. */
interface PeriodRefreshDao {

    /** Re-folds up to {@code maxDays} days stale for at least {@code minAgeMillis}, and their months; how many it did. */
    @SqlQuery("SELECT metering_refresh_periods(:maxDays, :minAgeMillis * interval '1 millisecond')")
    int refresh(@Bind("maxDays") int maxDays, @Bind("minAgeMillis") long minAgeMillis);

    /** Rewrites the oldest closed month of one tenant in account order (migration V11); how many rows it moved, 0: none waiting. */
    @SqlQuery("SELECT metering_order_closed_month(:closedForMillis * interval '1 millisecond')")
    long orderClosedMonth(@Bind("closedForMillis") long closedForMillis);

    /**
     * Vacuums the month table (outside a transaction, as VACUUM must run): it clears the versions a rewrite left behind
     * and marks the rewritten month's pages all-visible, so that its bill lines are read from the index alone (V12).
     * Pages nobody changed since the last vacuum are skipped.
     */
    @SqlUpdate("VACUUM usage_monthly_rollups")
    void vacuumMonthTable();
}
