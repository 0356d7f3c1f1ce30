package dev.metering.sink.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.sql.DataSource;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The sink's PostgreSQL side: one transaction per batch for rollups and offsets together. */
public final class RollupStore implements SinkDatabase {
    private static final Logger LOG = LoggerFactory.getLogger(RollupStore.class);
    private final Jdbi jdbi;
    private final String consumerGroup;
    private final BatchHooks hooks;
    private long savepoints;

    public RollupStore(DataSource dataSource, String consumerGroup) {
        this(dataSource, consumerGroup, BatchHooks.NONE);
    }

    /** With hooks inside the batch transaction; only the crash tests use it (through a test-side factory in this package). */
    RollupStore(DataSource dataSource, String consumerGroup, BatchHooks hooks) {
        this.jdbi = Jdbi.create(dataSource).installPlugin(new SqlObjectPlugin());
        this.consumerGroup = Objects.requireNonNull(consumerGroup);
        this.hooks = Objects.requireNonNull(hooks);
    }

    /**
     * What a committed batch changed.
     *
     * @param refused rows PostgreSQL refused because of their data; stored in sink_rejected_records in the same
     *                transaction (not part of {@code rejected}, which counts the batch's own rejected records)
     */
    public record WriteResult(int rowsUpserted, int staleIgnored, int rejected, List<RejectedRecord> refused) {
        public WriteResult(int rowsUpserted, int staleIgnored, int rejected) {
            this(rowsUpserted, staleIgnored, rejected, List.of());
        }

        public WriteResult {
            refused = List.copyOf(refused);
        }
    }

    /**
     * Upserts the batch's rollups, records its rejected records and moves each partition's stored offset
     * from {@code expectedOffsets} (null value: no row yet) to the batch's next offset, all in one
     * transaction. Nothing is written when any part fails.
     *
     * <p>When PostgreSQL refuses a row because of its data ({@link RefusedData}), the batch is written again in a new
     * transaction that isolates the refused rows: the rows are upserted under savepoints, halving the set that
     * failed until each refused row stands alone; those go to sink_rejected_records with their record's bytes, in the
     * transaction that moves the offsets past them; every other row is written. An outage (any other failure) is
     * thrown: the caller retries the whole batch later and nothing is skipped.
     *
     * @throws OffsetConflictException when a stored offset is not the expected one (rolled back)
     * @throws org.jdbi.v3.core.JdbiException when the database fails (rolled back)
     */
    @Override
    public WriteResult write(Batch batch, Map<TopicPartition, Long> expectedOffsets) {
        WriteResult result;
        try {
            result = driverFailuresAsDatabaseFailures(() -> jdbi.inTransaction(handle -> writeIn(handle, batch, expectedOffsets, false)));
        } catch (JdbiException e) {
            if (!RefusedData.isRefusedData(e)) {
                throw e;
            }
            LOG.info("PostgreSQL refused a row of a batch of {} rows ({}); writing the batch again, isolating the refused rows",
                    batch.rows().size(), RefusedData.describe(e));
            result = driverFailuresAsDatabaseFailures(() -> jdbi.inTransaction(handle -> writeIn(handle, batch, expectedOffsets, true)));
        }
        hooks.afterCommit(batch);
        return result;
    }

    private WriteResult writeIn(Handle handle, Batch batch, Map<TopicPartition, Long> expectedOffsets, boolean isolating) {
        RollupDao dao = handle.attach(RollupDao.class);
        List<RollupRow> rows = batch.rows();
        List<RejectedRecord> refused = new ArrayList<>();
        int upserted;
        if (rows.isEmpty()) {
            upserted = 0;
        } else if (isolating) {
            upserted = upsertIsolating(handle, dao, batch, rows, refused);
        } else {
            upserted = upsert(handle, dao, rows);
        }
        List<RejectedRecord> rejected = new ArrayList<>(batch.rejected());
        rejected.addAll(refused);
        if (!rejected.isEmpty()) {
            dao.insertRejected(rejected);
        }
        hooks.afterUpserts(batch);
        for (Map.Entry<TopicPartition, Long> next : batch.nextOffsets().entrySet()) {
            TopicPartition partition = next.getKey();
            Long expected = expectedOffsets.get(partition);
            if (dao.moveOffset(consumerGroup, partition.topic(), partition.partition(), expected, next.getValue()) != 1) {
                throw new OffsetConflictException(partition, expected);
            }
        }
        return new WriteResult(upserted, rows.size() - upserted - refused.size(), batch.rejected().size(), refused);
    }

    /**
     * One unnest statement per batch. COPY into a staging table plus one merge statement measured no better on updates
     * (most of the work: a window is inserted once and updated many times) on 100,000 uniform keys; see the README.
     */
    private static int upsert(Handle handle, RollupDao dao, List<RollupRow> rows) {
        return dao.upsertRollups(RollupColumns.of(rows));
    }

    /**
     * Upserts the rows under a savepoint; when PostgreSQL refuses the data, rolls back to the savepoint and upserts
     * each half the same way, down to single rows, which are refused. k refused rows among n cost about
     * 2k·log2(n) statements; a batch without any costs one. An outage is thrown as it is.
     *
     * @return how many rows were written
     */
    private int upsertIsolating(Handle handle, RollupDao dao, Batch batch, List<RollupRow> rows, List<RejectedRecord> refused) {
        String savepoint = "rows_" + savepoints++;
        handle.savepoint(savepoint);
        try {
            int written = upsert(handle, dao, rows);
            handle.releaseSavepoint(savepoint);
            return written;
        } catch (JdbiException e) {
            if (!RefusedData.isRefusedData(e)) {
                throw e;
            }
            handle.rollbackToSavepoint(savepoint); // Jdbi releases it with the rollback
            if (rows.size() == 1) {
                refused.add(RejectedRecord.of(batch.sourceOf(rows.get(0)), RejectedRecord.Reason.REFUSED_BY_DATABASE, RefusedData.describe(e)));
                return 0;
            }
            int half = rows.size() / 2;
            return upsertIsolating(handle, dao, batch, rows.subList(0, half), refused)
                    + upsertIsolating(handle, dao, batch, rows.subList(half, rows.size()), refused);
        }
    }

    /** The stored next offsets of the topic's partitions for this consumer group (partition number to offset). */
    @Override
    public Map<Integer, Long> storedOffsets(String topic) {
        Map<Integer, Long> offsets = new HashMap<>();
        driverFailuresAsDatabaseFailures(() -> jdbi.withExtension(RollupDao.class, dao -> dao.storedOffsets(consumerGroup, topic)))
                .forEach(stored -> offsets.put(stored.partition(), stored.nextOffset()));
        return offsets;
    }

    /** Throws when the database cannot be reached. */
    @Override
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
