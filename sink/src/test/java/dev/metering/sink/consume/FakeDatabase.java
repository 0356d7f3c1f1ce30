package dev.metering.sink.consume;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.OffsetConflictException;
import dev.metering.sink.store.RollupStore;
import dev.metering.sink.store.SinkDatabase;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.ConnectionException;

/**
 * PostgreSQL as the loop sees it, in memory: stored offsets moved by each committed batch (checked against the expected
 * ones, as the real store does), and outages on demand (a refused connection, as Jdbi reports it).
 */
final class FakeDatabase implements SinkDatabase {
    /** One write that reached the database, committed or not. */
    record Attempt(Map<TopicPartition, Long> expected, Map<TopicPartition, Long> next, int records, boolean committed) {
    }

    final Map<Integer, Long> offsets = new HashMap<>();
    final List<Attempt> attempts = new ArrayList<>();
    final List<Batch> committed = new ArrayList<>();
    private int failuresLeft;
    private boolean down;

    /** The next {@code count} batch writes fail as in an outage. */
    void failNextWrites(int count) {
        failuresLeft = count;
    }

    void down(boolean down) {
        this.down = down;
    }

    private void maybeFail() {
        if (down) {
            throw refused();
        }
    }

    private static ConnectionException refused() {
        return new ConnectionException(new SQLException("Connection to localhost:5432 refused"));
    }

    @Override
    public RollupStore.WriteResult write(Batch batch, Map<TopicPartition, Long> expectedOffsets) {
        if (down || failuresLeft > 0) {
            failuresLeft = Math.max(0, failuresLeft - 1);
            attempts.add(new Attempt(Map.copyOf(withoutNulls(expectedOffsets)), batch.nextOffsets(), batch.records(), false));
            throw refused();
        }
        for (Map.Entry<TopicPartition, Long> next : batch.nextOffsets().entrySet()) {
            Long expected = expectedOffsets.get(next.getKey());
            if (!java.util.Objects.equals(offsets.get(next.getKey().partition()), expected)) {
                attempts.add(new Attempt(Map.copyOf(withoutNulls(expectedOffsets)), batch.nextOffsets(), batch.records(), false));
                throw new OffsetConflictException(next.getKey(), expected);
            }
        }
        batch.nextOffsets().forEach((partition, next) -> offsets.put(partition.partition(), next));
        attempts.add(new Attempt(Map.copyOf(withoutNulls(expectedOffsets)), batch.nextOffsets(), batch.records(), true));
        committed.add(batch);
        return new RollupStore.WriteResult(batch.rows().size(), 0, batch.rejected().size());
    }

    private static Map<TopicPartition, Long> withoutNulls(Map<TopicPartition, Long> offsets) {
        Map<TopicPartition, Long> known = new HashMap<>();
        offsets.forEach((partition, offset) -> {
            if (offset != null) {
                known.put(partition, offset);
            }
        });
        return known;
    }

    @Override
    public Map<Integer, Long> storedOffsets(String topic) {
        maybeFail();
        return Map.copyOf(offsets);
    }

    @Override
    public void ping() {
        maybeFail();
    }

    int committedRecords() {
        return committed.stream().mapToInt(Batch::records).sum();
    }
}
