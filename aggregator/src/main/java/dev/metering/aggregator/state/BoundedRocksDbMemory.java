package dev.metering.aggregator.state;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.IndexType;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBufferManager;

/**
 * One memory budget for every RocksDB instance of the aggregator's JVM (Kafka's recipe for bounding RocksDB memory).
 *
 * <p>Without it each instance has its own 50 MB block cache and up to three 16 MB memtables, and keeps its index and
 * filter blocks outside any cache; a window store is an instance per segment, so the aggregator's resident memory grows
 * with its partitions and with the dedupe state, with no limit. With it, all instances share one block cache of
 * {@link #TOTAL_BYTES_CONFIG} bytes, which also holds their index and filter blocks (high priority, so data blocks are
 * evicted first) and is charged for their memtables, up to a quarter of it (a write buffer manager: memtables are
 * flushed early instead of growing). Partitioned indexes and filters keep the part that must stay in the cache small.
 */
public final class BoundedRocksDbMemory implements RocksDBConfigSetter {
    /** The aggregator's own Kafka Streams property: the budget in bytes, shared by every store of the JVM. */
    public static final String TOTAL_BYTES_CONFIG = "metering.rocksdb.memory.bytes";
    /** The cache's share reserved for index and filter blocks. */
    private static final double INDEX_AND_FILTER_SHARE = 0.1;
    private static final ConcurrentMap<Long, Budget> BUDGETS = new ConcurrentHashMap<>();

    /** The cache and write buffer manager of one budget; shared, so never closed while the JVM runs. */
    private record Budget(Cache cache, WriteBufferManager writeBuffers) {
        static Budget of(long totalBytes) {
            RocksDB.loadLibrary();
            Cache cache = new LRUCache(totalBytes, -1, false, INDEX_AND_FILTER_SHARE);
            return new Budget(cache, new WriteBufferManager(totalBytes / 4, cache));
        }
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        long totalBytes = totalBytes(configs);
        Budget budget = BUDGETS.computeIfAbsent(totalBytes, Budget::of);
        // Kafka requires its own table config instance to be changed, not replaced.
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(budget.cache());
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        table.setIndexType(IndexType.kTwoLevelIndexSearch);
        table.setPartitionFilters(true);
        options.setWriteBufferManager(budget.writeBuffers());
        options.setTableFormatConfig(table);
    }

    @Override
    public void close(String storeName, Options options) {
        // The cache and write buffer manager are shared by every store of the JVM; they live as long as it does.
    }

    private static long totalBytes(Map<String, Object> configs) {
        Object value = configs.get(TOTAL_BYTES_CONFIG);
        if (value == null) {
            throw new IllegalStateException(TOTAL_BYTES_CONFIG + " is not set");
        }
        long bytes = Long.parseLong(value.toString());
        if (bytes <= 0) {
            throw new IllegalStateException(TOTAL_BYTES_CONFIG + " must be > 0, got " + bytes);
        }
        return bytes;
    }
}
