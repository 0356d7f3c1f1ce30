package dev.metering.sink.store;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What the consumer loop needs of PostgreSQL: write a batch with its offsets in one transaction, read the stored
 * offsets, check the connection. {@link RollupStore} is the implementation; the loop's unit tests use a fake.
 * Failures are {@link org.jdbi.v3.core.JdbiException} or {@link DatabaseFailure} (an outage: retry later) and
 * {@link OffsetConflictException} (someone else moved the stored offsets: read them again).
 */
public interface SinkDatabase {
    /** See {@link RollupStore#write}. */
    RollupStore.WriteResult write(Batch batch, Map<TopicPartition, Long> expectedOffsets);

    /** The stored next offsets of the topic's partitions (partition number to offset); a partition without a row is absent. */
    Map<Integer, Long> storedOffsets(String topic);

    /** Throws when the database cannot be reached. */
    void ping();
}
