WITH written AS (
INSERT INTO usage_rollups (org_id, billing_account_id, feature_code, window_size, window_start, window_end, event_count,
                           quantity_sum, billable_quantity, latest_value, latest_value_type, latest_event_time,
                           latest_event_id, latest_absolute_event_time, latest_absolute_event_id, min_value, max_value,
                           first_event_time, last_event_time, updated_at, reverted_quantity, revert_count)
SELECT org_id, billing_account_id, feature_code, window_size, window_start, window_end, event_count + :gen, quantity_sum, billable_quantity, latest_value, latest_value_type, latest_event_time,
                           latest_event_id, latest_absolute_event_time, latest_absolute_event_id, min_value, max_value,
                           first_event_time, last_event_time, updated_at, reverted_quantity, revert_count FROM staged WHERE batch = :b
ON CONFLICT (org_id, billing_account_id, feature_code, window_size, window_start) DO UPDATE SET
    window_end = EXCLUDED.window_end, event_count = EXCLUDED.event_count, quantity_sum = EXCLUDED.quantity_sum,
    billable_quantity = EXCLUDED.billable_quantity, latest_value = EXCLUDED.latest_value, latest_value_type = EXCLUDED.latest_value_type,
    latest_event_time = EXCLUDED.latest_event_time, latest_event_id = EXCLUDED.latest_event_id,
    latest_absolute_event_time = EXCLUDED.latest_absolute_event_time, latest_absolute_event_id = EXCLUDED.latest_absolute_event_id,
    min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, first_event_time = EXCLUDED.first_event_time,
    last_event_time = EXCLUDED.last_event_time, updated_at = EXCLUDED.updated_at, reverted_quantity = EXCLUDED.reverted_quantity,
    revert_count = EXCLUDED.revert_count, stored_at = now()
WHERE usage_rollups.event_count + usage_rollups.revert_count < EXCLUDED.event_count + EXCLUDED.revert_count
RETURNING 1)
SELECT count(*) FROM written;
