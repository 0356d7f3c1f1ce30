WITH updated AS (
UPDATE usage_rollups r SET window_end = s.window_end, event_count = s.event_count + :gen, quantity_sum = s.quantity_sum,
    billable_quantity = s.billable_quantity, latest_value = s.latest_value, latest_value_type = s.latest_value_type,
    latest_event_time = s.latest_event_time, latest_event_id = s.latest_event_id,
    latest_absolute_event_time = s.latest_absolute_event_time, latest_absolute_event_id = s.latest_absolute_event_id,
    min_value = s.min_value, max_value = s.max_value, first_event_time = s.first_event_time,
    last_event_time = s.last_event_time, updated_at = s.updated_at, reverted_quantity = s.reverted_quantity,
    revert_count = s.revert_count, stored_at = now()
FROM staged s WHERE s.batch = :b AND r.org_id = s.org_id AND r.billing_account_id = s.billing_account_id AND r.feature_code = s.feature_code
  AND r.window_size = s.window_size AND r.window_start = s.window_start
  AND r.event_count + r.revert_count < s.event_count + :gen + s.revert_count
RETURNING 1)
SELECT count(*) FROM updated;
