package dev.metering.sink.consume;

import dev.metering.sink.store.Batch;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the sink is in each owned partition. PostgreSQL holds the position (sink_offsets), not Kafka: a partition
 * the consumer is given stays paused until its stored offset was read and sought to, and every batch is written
 * with the offsets it expects to find (so a second sink writing the same partitions is noticed, not doubled).
 * Used from the loop's thread only.
 */
final class PartitionPositions {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionPositions.class);
    /** Stored offset unknown to PostgreSQL: no row for the partition yet. */
    private static final Long NO_ROW = null;

    private final Consumer<?, ?> consumer;
    /** What PostgreSQL holds for each owned partition whose offsets were read (null value: no row). */
    private final Map<TopicPartition, Long> stored = new HashMap<>();
    /** Owned partitions whose offsets must be read from PostgreSQL before consuming them; paused. */
    private final Set<TopicPartition> needsSeek = new HashSet<>();

    PartitionPositions(Consumer<?, ?> consumer) {
        this.consumer = consumer;
    }

    /** Partitions given by a rebalance: paused until {@link #seekTo} ran for them (reading PostgreSQL in the listener could not be retried). */
    void assigned(Collection<TopicPartition> partitions) {
        consumer.pause(partitions);
        needsSeek.addAll(partitions);
    }

    /** Partitions taken away (revoked or lost): whoever owns them next reads their position from PostgreSQL. */
    void forget(Collection<TopicPartition> partitions) {
        stored.keySet().removeAll(partitions);
        needsSeek.removeAll(partitions);
    }

    boolean seekNeeded() {
        return !needsSeek.isEmpty();
    }

    /**
     * Seeks each partition waiting for it to its stored offset (the beginning when PostgreSQL has no row for it).
     *
     * @param storedOffsets what PostgreSQL holds, partition number to next offset
     * @return the partitions sought; still paused, the caller resumes them
     */
    Set<TopicPartition> seekTo(Map<Integer, Long> storedOffsets) {
        for (TopicPartition partition : needsSeek) {
            Long next = storedOffsets.get(partition.partition());
            if (next == null) {
                consumer.seekToBeginning(List.of(partition));
                stored.put(partition, NO_ROW);
                LOG.info("{}: no stored offset, starting from the beginning", partition);
            } else {
                consumer.seek(partition, next);
                stored.put(partition, next);
                LOG.info("{}: resuming at stored offset {}", partition, next);
            }
        }
        Set<TopicPartition> sought = new HashSet<>(needsSeek);
        needsSeek.clear();
        return sought;
    }

    /** The stored offsets the batch's partitions must still have when it is written (null value: no row yet). */
    Map<TopicPartition, Long> expectedFor(Batch batch) {
        Map<TopicPartition, Long> expected = new HashMap<>();
        batch.nextOffsets().keySet().forEach(partition -> expected.put(partition, stored.get(partition)));
        return expected;
    }

    /** The batch was written: PostgreSQL now holds its next offsets. */
    void written(Batch batch) {
        stored.putAll(batch.nextOffsets());
    }

    /** Someone else moved the stored offsets: forget what was known and read every owned partition's again, paused meanwhile. */
    void readAllAgain() {
        Set<TopicPartition> owned = consumer.assignment();
        stored.clear();
        needsSeek.addAll(owned);
        consumer.pause(owned);
    }

    /** The owned partitions that may be consumed (their position is known). */
    Set<TopicPartition> consumable() {
        Set<TopicPartition> consumable = new HashSet<>(consumer.assignment());
        consumable.removeAll(needsSeek);
        return consumable;
    }
}
