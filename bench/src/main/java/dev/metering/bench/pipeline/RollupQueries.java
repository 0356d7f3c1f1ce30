package dev.metering.bench.pipeline;

import java.math.BigDecimal;
import java.util.List;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindList;
import org.jdbi.v3.sqlobject.statement.SqlQuery;

/** What the benchmark reads back from PostgreSQL: the analyst view, as a billing job would. */
public interface RollupQueries {
    @SqlQuery("SELECT coalesce(sum(quantity_sum), 0) FROM usage_hourly WHERE billing_account_id LIKE :pattern")
    BigDecimal hourlyQuantity(@Bind("pattern") String accountPattern);

    /** With the tenant, the accounts are a prefix of the primary key: index lookups, not a scan of every hour. */
    @SqlQuery("SELECT DISTINCT billing_account_id FROM usage_hourly WHERE org_id = :org AND billing_account_id IN (<accounts>)")
    List<String> accountsWithRows(@Bind("org") String org, @BindList("accounts") List<String> accounts);

    @SqlQuery("SHOW server_version")
    String serverVersion();
}
