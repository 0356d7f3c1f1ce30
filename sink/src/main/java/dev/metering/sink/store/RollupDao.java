package dev.metering.sink.store;

import java.util.Collection;
import java.util.List;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.customizer.BindMethods;
import org.jdbi.v3.sqlobject.statement.SqlBatch;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/** The sink's SQL. */
public interface RollupDao {

    /**
     * Inserts or updates rollups in one statement whose text never changes (the rows come as one array per column),
     * so PostgreSQL and the driver prepare it once: one round trip and one execution per batch instead of one per row.
     * An update applies only when it is newer (greater event_count + revert_count) than the stored row, so a stale or replayed
     * version never overwrites a newer one. The rows' keys must be distinct.
     *
     * @return how many rows were written; the others were stale (a newer or equal version was already stored)
     */
    @SqlQuery("""
            WITH written AS (
                INSERT INTO usage_rollups (org_id, billing_account_id, feature_code, window_size, window_start, window_end, event_count,
                                           quantity_sum, billable_quantity, latest_value, latest_value_type, latest_event_time,
                                           latest_event_id, latest_absolute_event_time, latest_absolute_event_id, min_value, max_value,
                                           first_event_time, last_event_time, updated_at, reverted_quantity, revert_count)
                SELECT * FROM unnest(:orgIds, :billingAccountIds, :featureCodes, :windowSizes, CAST(:windowStarts AS timestamptz[]),
                                     CAST(:windowEnds AS timestamptz[]), CAST(:eventCounts AS bigint[]), CAST(:quantitySums AS numeric[]),
                                     CAST(:billableQuantities AS numeric[]), CAST(:latestValues AS numeric[]), :latestValueTypes,
                                     CAST(:latestEventTimes AS timestamptz[]), :latestEventIds, CAST(:latestAbsoluteEventTimes AS timestamptz[]),
                                     :latestAbsoluteEventIds, CAST(:minValues AS numeric[]), CAST(:maxValues AS numeric[]),
                                     CAST(:firstEventTimes AS timestamptz[]), CAST(:lastEventTimes AS timestamptz[]),
                                     CAST(:updatedAts AS timestamptz[]), CAST(:revertedQuantities AS numeric[]),
                                     CAST(:revertCounts AS bigint[]))
                ON CONFLICT (org_id, billing_account_id, feature_code, window_size, window_start) DO UPDATE SET
                    window_end = EXCLUDED.window_end,
                    event_count = EXCLUDED.event_count,
                    quantity_sum = EXCLUDED.quantity_sum,
                    billable_quantity = EXCLUDED.billable_quantity,
                    latest_value = EXCLUDED.latest_value,
                    latest_value_type = EXCLUDED.latest_value_type,
                    latest_event_time = EXCLUDED.latest_event_time,
                    latest_event_id = EXCLUDED.latest_event_id,
                    latest_absolute_event_time = EXCLUDED.latest_absolute_event_time,
                    latest_absolute_event_id = EXCLUDED.latest_absolute_event_id,
                    min_value = EXCLUDED.min_value,
                    max_value = EXCLUDED.max_value,
                    first_event_time = EXCLUDED.first_event_time,
                    last_event_time = EXCLUDED.last_event_time,
                    updated_at = EXCLUDED.updated_at,
                    reverted_quantity = EXCLUDED.reverted_quantity,
                    revert_count = EXCLUDED.revert_count,
                    stored_at = now()
                WHERE usage_rollups.event_count + usage_rollups.revert_count < EXCLUDED.event_count + EXCLUDED.revert_count
                RETURNING 1)
            SELECT count(*) FROM written
            """)
    int upsertRollups(@BindMethods RollupColumns columns);

    @SqlBatch("""
            INSERT INTO sink_rejected_records (topic, partition, record_offset, reason, detail, record_key, record_value)
            VALUES (:topic, :partition, :recordOffset, :reasonName, :detail, :recordKey, :recordValue)
            ON CONFLICT (topic, partition, record_offset) DO NOTHING
            """)
    int[] insertRejected(@BindMethods Collection<RejectedRecord> records);

    /**
     * Moves a partition's stored offset from {@code expected} (null: no row yet) to {@code next}. Returns
     * 0 when the stored offset is not {@code expected}: another sink instance (or an operator) moved it, so
     * this instance no longer owns the partition's position and must not write.
     */
    @SqlUpdate("""
            INSERT INTO sink_offsets (consumer_group, topic, partition, next_offset)
            VALUES (:group, :topic, :partition, :next)
            ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()
            WHERE sink_offsets.next_offset = :expected
            """)
    int moveOffset(@Bind("group") String group, @Bind("topic") String topic, @Bind("partition") int partition,
                   @Bind("expected") Long expected, @Bind("next") long next);

    @SqlQuery("SELECT partition, next_offset FROM sink_offsets WHERE consumer_group = :group AND topic = :topic")
    @RegisterConstructorMapper(StoredOffset.class)
    List<StoredOffset> storedOffsets(@Bind("group") String group, @Bind("topic") String topic);

    @SqlQuery("SELECT 1")
    int ping();

    record StoredOffset(int partition, long nextOffset) {
    }
}
