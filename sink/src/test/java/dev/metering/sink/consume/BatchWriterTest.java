package dev.metering.sink.consume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.sink.store.Batch;
import dev.metering.sink.store.RejectedRecord;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.ConnectionException;
import org.junit.jupiter.api.Test;

class BatchWriterTest {
    private static final TopicPartition P0 = new TopicPartition("usage-rollups", 0);

    private final FakeDatabase database = new FakeDatabase();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final BatchWriter writer = new BatchWriter(database, new SinkMetrics(meters));

    private static Batch rejectedAndSuperseded() {
        return new Batch.Builder()
                .reject(P0, 0, new RejectedRecord("usage-rollups", 0, 0, RejectedRecord.Reason.TOMBSTONE, "null value", null, null))
                .supersede(P0, 1)
                .build();
    }

    private double counter(String name, String... tags) {
        return meters.get(name).tags(tags).counter().count();
    }

    @Test
    void aWrittenBatchIsCountedWithItsRejectedAndSupersededRecords() {
        assertThat(writer.write(rejectedAndSuperseded(), new HashMap<>())).isEqualTo(BatchWriter.Outcome.WRITTEN);

        assertThat(database.offsets).isEqualTo(Map.of(0, 2L));
        assertThat(counter("sink.records.consumed")).isEqualTo(2);
        assertThat(counter("sink.records.rejected", "reason", "TOMBSTONE")).isEqualTo(1);
        assertThat(counter("sink.records.superseded")).isEqualTo(1);
        assertThat(meters.get("sink.batch.latency").timer().count()).isEqualTo(1);
    }

    @Test
    void storedOffsetsMovedByAnotherSinkAreReportedAndCountedNotThrown() {
        database.offsets.put(0, 9L);
        assertThat(writer.write(rejectedAndSuperseded(), new HashMap<>())).isEqualTo(BatchWriter.Outcome.OFFSETS_MOVED);
        assertThat(counter("sink.offset.conflicts")).isEqualTo(1);
        assertThat(counter("sink.records.consumed")).isZero();
    }

    @Test
    void anOutageIsThrownForTheCallerToRetryAndCountsNothing() {
        database.failNextWrites(1);
        assertThatThrownBy(() -> writer.write(rejectedAndSuperseded(), new HashMap<>())).isInstanceOf(ConnectionException.class);
        assertThat(counter("sink.records.consumed")).isZero();
        assertThat(database.offsets).isEmpty();
    }
}
