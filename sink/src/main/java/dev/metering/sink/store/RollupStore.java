package dev.metering.sink.store;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.sql.DataSource;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/** The sink's PostgreSQL side: one transaction per batch for rollups and offsets together. */
public final class RollupStore {
    private final Jdbi jdbi;
    private final String consumerGroup;
    private final BatchHooks hooks;

    public RollupStore(DataSource dataSource, String consumerGroup, BatchHooks hooks) {
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        this.consumerGroup = Objects.requireNonNull(consumerGroup);
        this.hooks = Objects.requireNonNull(hooks);
    }

    /** What a committed batch changed. */
    public record WriteResult(int rowsUpserted, int staleIgnored, int rejected) {
    }

    /**
     * Upserts the batch's rollups, records its rejected records and moves each partition's stored offset
     * from {@code expectedOffsets} (null value: no row yet) to the batch's next offset, all in one
     * transaction. Nothing is written when any part fails.
     *
     * @throws OffsetConflictException when a stored offset is not the expected one (rolled back)
     * @throws org.jdbi.v3.core.JdbiException when the database fails (rolled back)
     */
    public WriteResult write(Batch batch, Map<TopicPartition, Long> expectedOffsets) {
        WriteResult result = driverFailuresAsDatabaseFailures(() -> jdbi.inTransaction(handle -> {
            RollupDao dao = handle.attach(RollupDao.class);
            List<RollupRow> rows = batch.rows();
            int upserted = rows.isEmpty() ? 0 : dao.upsertRollups(RollupColumns.of(rows));
            if (!batch.rejected().isEmpty()) {
                dao.insertRejected(batch.rejected());
            }
            hooks.afterUpserts(batch);
            for (Map.Entry<TopicPartition, Long> next : batch.nextOffsets().entrySet()) {
                TopicPartition partition = next.getKey();
                Long expected = expectedOffsets.get(partition);
                if (dao.moveOffset(consumerGroup, partition.topic(), partition.partition(), expected, next.getValue()) != 1) {
                    throw new OffsetConflictException(partition, expected);
                }
            }
            return new WriteResult(upserted, rows.size() - upserted, batch.rejected().size());
        }));
        hooks.afterCommit(batch);
        return result;
    }

    /** The stored next offsets of the topic's partitions for this consumer group (partition number to offset). */
    public Map<Integer, Long> storedOffsets(String topic) {
        Map<Integer, Long> offsets = new HashMap<>();
        driverFailuresAsDatabaseFailures(() -> jdbi.withExtension(RollupDao.class, dao -> dao.storedOffsets(consumerGroup, topic)))
                .forEach(stored -> offsets.put(stored.partition(), stored.nextOffset()));
        return offsets;
    }

    /** Throws when the database cannot be reached. */
    public void ping() {
        driverFailuresAsDatabaseFailures(() -> jdbi.withExtension(RollupDao.class, RollupDao::ping));
    }

    private static <T> T driverFailuresAsDatabaseFailures(java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (AssertionError e) {
            // pgjdbc's BatchResultHandler asserts that getAutoCommit() does not throw, which it does on a connection
            // that died mid-batch; that is a lost connection, not a bug of ours.
            boolean fromDriver = java.util.Arrays.stream(e.getStackTrace()).anyMatch(frame -> frame.getClassName().startsWith("org.postgresql."));
            if (fromDriver) {
                throw new DatabaseFailure("PostgreSQL connection failed: " + e.getMessage(), e);
            }
            throw e;
        }
    }
}
