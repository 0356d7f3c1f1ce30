-- The bill lines of every account for a month in order, without sorting every row (issue 20: analysts must not pay).
--
-- "SELECT ... FROM usage_monthly WHERE org_id = ? AND month_start = ? ORDER BY billing_account_id, feature_code" (the
-- README's bill lines) sorted all of the month's rows: the view's first part (the month table without its stale months)
-- has a WHERE clause, so PostgreSQL plans it as a subquery of its own, and a subquery without ORDER BY offers no order
-- to the query around it. With the ORDER BY below, that part reads the month table in the order of an index (both
-- lead with org_id and hold month_start, billing_account_id, feature_code) and anti-joins the stale marks by merge, and
-- the outer query merges it with the (small, separately sorted) stale months instead of sorting the union.
-- Measured on 714,410 month rows (PostgreSQL 15, 2 cores, JIT off): execution 1.34-1.43 s -> 0.63-0.68 s, and the rows
-- reach the client as they are read instead of after the sort. The rows and columns are those of V9; only the plan
-- changes. Queries for one account (the primary key's order) sort their few rows as before.

CREATE OR REPLACE VIEW usage_monthly AS
(SELECT m.org_id,
       m.billing_account_id,
       m.feature_code,
       m.month_start,
       m.month_end,
       m.event_count,
       m.quantity_sum,
       m.billable_quantity,
       m.latest_absolute_event_time,
       m.latest_value,
       m.latest_value_type,
       m.latest_event_time,
       m.latest_event_id,
       m.min_value,
       m.max_value,
       m.first_event_time,
       m.last_event_time,
       m.updated_at,
       m.days_with_usage,
       m.reverted_quantity,
       m.revert_count
FROM usage_monthly_rollups m
WHERE NOT EXISTS (SELECT 1 FROM usage_periods_stale s
                  WHERE s.org_id = m.org_id AND s.billing_account_id = m.billing_account_id AND s.feature_code = m.feature_code
                    AND s.day_start >= m.month_start AND s.day_start < m.month_end)
 ORDER BY m.org_id, m.month_start, m.billing_account_id, m.feature_code)
UNION ALL
SELECT * FROM usage_monthly_of_stale_months;
