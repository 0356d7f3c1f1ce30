package dev.metering.sink.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What one poll brought, ready to store in one transaction, per partition: the latest rollup per key
 * (older versions in the same batch are dropped) with the record it came from, the rejected records, how many
 * records were superseded windows (DAY rollups of an old aggregator, not stored) and the offset to resume from.
 */
public record Batch(Map<TopicPartition, PartitionBatch> partitions) {

    public Batch {
        partitions = Map.copyOf(partitions);
    }

    /** The record a row was read from: kept so a row PostgreSQL refuses is stored with its original bytes. */
    public record Source(String topic, int partition, long offset, byte[] key, byte[] value) {
    }

    /**
     * @param firstOffset the offset of the first record of this partition in the batch
     * @param nextOffset  where to resume: after the last record of this partition in the batch (or further,
     *                    past transaction markers the consumer already skipped)
     * @param records     how many records of this partition the batch was made of
     * @param superseded  how many of them were windows the sink no longer stores (DAY rollups)
     */
    public record PartitionBatch(Map<RollupRow.Key, RollupRow> rows, Map<RollupRow.Key, Source> sources, List<RejectedRecord> rejected,
                                 long firstOffset, long nextOffset, int records, int superseded) {
        public PartitionBatch {
            rows = Map.copyOf(rows);
            sources = Map.copyOf(sources);
            rejected = List.copyOf(rejected);
        }

        PartitionBatch resumingAt(long next) {
            return new PartitionBatch(rows, sources, rejected, firstOffset, next, records, superseded);
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

    /** The record the row (one of {@link #rows()}) was read from. */
    public Source sourceOf(RollupRow row) {
        for (Map.Entry<TopicPartition, PartitionBatch> partition : partitions.entrySet()) {
            if (partition.getValue().rows().get(row.key()) == row) {
                Source source = partition.getValue().sources().get(row.key());
                return source != null ? source : new Source(partition.getKey().topic(), partition.getKey().partition(), -1, null, null);
            }
        }
        throw new IllegalArgumentException("not a row of this batch: " + row.key());
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

    public int superseded() {
        return partitions.values().stream().mapToInt(PartitionBatch::superseded).sum();
    }

    /**
     * This batch resuming at the consumer's positions where those are further on (transaction markers
     * after the last record), so the stored offset is exactly where the consumer stood.
     */
    public Batch resumingAt(Map<TopicPartition, Long> positions) {
        Map<TopicPartition, PartitionBatch> moved = new LinkedHashMap<>();
        partitions.forEach((partition, batch) -> {
            Long position = positions.get(partition);
            moved.put(partition, batch.resumingAt(position == null ? batch.nextOffset() : Math.max(batch.nextOffset(), position)));
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
        private final Map<TopicPartition, Map<RollupRow.Key, Source>> sources = new LinkedHashMap<>();
        private final Map<TopicPartition, List<RejectedRecord>> rejected = new LinkedHashMap<>();
        private final Map<TopicPartition, Long> firstOffsets = new LinkedHashMap<>();
        private final Map<TopicPartition, Long> nextOffsets = new LinkedHashMap<>();
        private final Map<TopicPartition, Integer> records = new LinkedHashMap<>();
        private final Map<TopicPartition, Integer> superseded = new LinkedHashMap<>();

        /** A row without its record's bytes (tests, tools). */
        public Builder add(TopicPartition partition, long offset, RollupRow row) {
            return add(partition, offset, row, null, null);
        }

        public Builder add(TopicPartition partition, long offset, RollupRow row, byte[] key, byte[] value) {
            Map<RollupRow.Key, RollupRow> partitionRows = rows.computeIfAbsent(partition, p -> new LinkedHashMap<>());
            RollupRow kept = partitionRows.merge(row.key(), row, RollupRow::newer);
            if (kept == row) {
                sources.computeIfAbsent(partition, p -> new LinkedHashMap<>())
                        .put(row.key(), new Source(partition.topic(), partition.partition(), offset, key, value));
            }
            return advance(partition, offset);
        }

        public Builder reject(TopicPartition partition, long offset, RejectedRecord record) {
            rejected.computeIfAbsent(partition, p -> new ArrayList<>()).add(record);
            return advance(partition, offset);
        }

        /** A record of a window the sink no longer stores: consumed (the offset moves past it), not written. */
        public Builder supersede(TopicPartition partition, long offset) {
            superseded.merge(partition, 1, Integer::sum);
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
                    rows.getOrDefault(partition, Map.of()), sources.getOrDefault(partition, Map.of()), rejected.getOrDefault(partition, List.of()),
                    firstOffsets.get(partition), next, records.get(partition), superseded.getOrDefault(partition, 0))));
            return new Batch(partitions);
        }
    }
}
