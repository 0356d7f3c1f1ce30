package dev.metering.bench.pipeline;

import java.math.BigDecimal;
import java.util.List;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindList;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** What the benchmark reads back from PostgreSQL: the analyst view, as a billing job would. */
public interface RollupQueries {
    @SqlQuery("SELECT coalesce(sum(quantity_sum), 0) FROM usage_hourly WHERE billing_account_id LIKE :pattern")
    BigDecimal hourlyQuantity(@Bind("pattern") String accountPattern);

    /** With the tenant, the accounts are a prefix of the primary key: index lookups, not a scan of every hour. */
    @SqlQuery("SELECT DISTINCT billing_account_id FROM usage_hourly WHERE org_id = :org AND billing_account_id IN (<accounts>)")
    List<String> accountsWithRows(@Bind("org") String org, @BindList("accounts") List<String> accounts);

    @SqlQuery("SELECT count(*) FROM usage_periods_stale")
    long staleDays();

    /** The sink's period refresh (migration V9), called as an operator would after a bulk load; 0 while another runs. */
    @SqlQuery("SELECT metering_refresh_periods(:maxDays, interval '0')")
    int refreshPeriods(@Bind("maxDays") int maxDays);

    /**
     * The sink's rewrite of one closed month in account order (migration V11), with every month that has begun taken as
     * closed (a month counts as closed once its end plus the given interval has passed); 0 when none is left.
     */
    @SqlQuery("SELECT metering_order_closed_month(interval '-1 month')")
    long orderMonthAsClosed();

    /** What the sink runs after rewriting a closed month, so that its bill lines come from the index alone (V12). */
    @SqlUpdate("VACUUM usage_monthly_rollups")
    void vacuumMonthTable();

    @SqlQuery("SHOW server_version")
    String serverVersion();
}
