package dev.metering.sink.periods;

import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** The SQL of the period refresh; the work itself is the function of migration V9. */
interface PeriodRefreshDao {

    /** Re-folds up to {@code maxDays} days stale for at least {@code minAgeMillis}, and their months; how many it did. */
    @SqlQuery("SELECT metering_refresh_periods(:maxDays, :minAgeMillis * interval '1 millisecond')")
    int refresh(@Bind("maxDays") int maxDays, @Bind("minAgeMillis") long minAgeMillis);
}
