package dev.metering.sink.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What one poll brought, ready to store in one transaction, per partition: the latest rollup per key
 * (older versions in the same batch are dropped), the rejected records and the offset to resume from.
 */
public record Batch(Map<TopicPartition, PartitionBatch> partitions) {

    public Batch {
        partitions = Map.copyOf(partitions);
    }

    /**
     * @param firstOffset the offset of the first record of this partition in the batch
     * @param nextOffset  where to resume: after the last record of this partition in the batch (or further,
     *                    past transaction markers the consumer already skipped)
     * @param records     how many records of this partition the batch was made of
     */
    public record PartitionBatch(Map<RollupRow.Key, RollupRow> rows, List<RejectedRecord> rejected, long firstOffset, long nextOffset,
                                 int records) {
        public PartitionBatch {
            rows = Map.copyOf(rows);
            rejected = List.copyOf(rejected);
        }
    }

    public boolean isEmpty() {
        return partitions.isEmpty();
    }

    /**
     * The newest version of every window in the batch. A window is in one partition only, unless the topic was
     * repartitioned; then the newer version of the two is kept, since one statement may not write a row twice.
     */
    public List<RollupRow> rows() {
        Map<RollupRow.Key, RollupRow> rows = new LinkedHashMap<>();
        partitions.values().forEach(p -> p.rows().forEach((key, row) -> rows.merge(key, row, RollupRow::newer)));
        return new ArrayList<>(rows.values());
    }

    public List<RejectedRecord> rejected() {
        List<RejectedRecord> rejected = new ArrayList<>();
        partitions.values().forEach(p -> rejected.addAll(p.rejected()));
        return rejected;
    }

    public Map<TopicPartition, Long> nextOffsets() {
        Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
        partitions.forEach((partition, batch) -> offsets.put(partition, batch.nextOffset()));
        return offsets;
    }

    public int records() {
        return partitions.values().stream().mapToInt(PartitionBatch::records).sum();
    }

    /**
     * This batch resuming at the consumer's positions where those are further on (transaction markers
     * after the last record), so the stored offset is exactly where the consumer stood.
     */
    public Batch resumingAt(Map<TopicPartition, Long> positions) {
        Map<TopicPartition, PartitionBatch> moved = new LinkedHashMap<>();
        partitions.forEach((partition, batch) -> {
            Long position = positions.get(partition);
            long next = position == null ? batch.nextOffset() : Math.max(batch.nextOffset(), position);
            moved.put(partition, new PartitionBatch(batch.rows(), batch.rejected(), batch.firstOffset(), next, batch.records()));
        });
        return new Batch(moved);
    }

    /** This batch without the records of the given partitions (they were revoked while the batch waited). */
    public Batch without(Collection<TopicPartition> revoked) {
        Map<TopicPartition, PartitionBatch> kept = new LinkedHashMap<>(partitions);
        kept.keySet().removeAll(revoked);
        return new Batch(kept);
    }

    /** Collects a batch record by record, in offset order within each partition. */
    public static final class Builder {
        private final Map<TopicPartition, Map<RollupRow.Key, RollupRow>> rows = new LinkedHashMap<>();
        private final Map<TopicPartition, List<RejectedRecord>> rejected = new LinkedHashMap<>();
        private final Map<TopicPartition, Long> firstOffsets = new LinkedHashMap<>();
        private final Map<TopicPartition, Long> nextOffsets = new LinkedHashMap<>();
        private final Map<TopicPartition, Integer> records = new LinkedHashMap<>();

        public Builder add(TopicPartition partition, long offset, RollupRow row) {
            rows.computeIfAbsent(partition, p -> new LinkedHashMap<>()).merge(row.key(), row, RollupRow::newer);
            return advance(partition, offset);
        }

        public Builder reject(TopicPartition partition, long offset, RejectedRecord record) {
            rejected.computeIfAbsent(partition, p -> new ArrayList<>()).add(record);
            return advance(partition, offset);
        }

        private Builder advance(TopicPartition partition, long offset) {
            firstOffsets.merge(partition, offset, Math::min);
            nextOffsets.merge(partition, offset + 1, Math::max);
            records.merge(partition, 1, Integer::sum);
            return this;
        }

        public Batch build() {
            Map<TopicPartition, PartitionBatch> partitions = new LinkedHashMap<>();
            nextOffsets.forEach((partition, next) -> partitions.put(partition, new PartitionBatch(
                    rows.getOrDefault(partition, Map.of()), rejected.getOrDefault(partition, List.of()), firstOffsets.get(partition), next,
                    records.get(partition))));
            return new Batch(partitions);
        }
    }
}
