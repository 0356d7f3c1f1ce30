package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.WindowSize;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RollupRow;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class BatchTest {
    private static final TopicPartition P0 = new TopicPartition("usage-rollups", 0);
    private static final TopicPartition P1 = new TopicPartition("usage-rollups", 1);

    private static RollupRow row(String account, long count, String sum) {
        return RollupRow.of(Rollups.delta(account, "api", WindowSize.HOUR, "2026-11-20T10:00:00Z", count, sum));
    }

    @Test
    void keepsOnlyTheNewestVersionOfEachWindow() {
        Batch batch = new Batch.Builder()
                .add(P0, 10, row("a", 1, "1"))
                .add(P0, 11, row("a", 3, "6"))
                .add(P0, 12, row("a", 2, "3")) // older version arriving later: not the newest
                .add(P1, 5, row("b", 1, "9"))
                .build();
        assertThat(batch.rows()).extracting(RollupRow::billingAccountId, RollupRow::eventCount)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("a", 3L), org.assertj.core.groups.Tuple.tuple("b", 1L));
        assertThat(batch.records()).isEqualTo(4);
        assertThat(batch.nextOffsets()).isEqualTo(Map.of(P0, 13L, P1, 6L));
        assertThat(batch.partitions().get(P0).firstOffset()).isEqualTo(10);
    }

    @Test
    void aWindowInTwoPartitionsIsWrittenOnceInItsNewerVersion() {
        Batch batch = new Batch.Builder()
                .add(P0, 10, row("a", 4, "8"))
                .add(P1, 3, row("a", 2, "4"))
                .build();
        assertThat(batch.rows()).extracting(RollupRow::billingAccountId, RollupRow::eventCount)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("a", 4L));
    }

    @Test
    void resumesAtTheConsumerPositionPastTransactionMarkers() {
        Batch batch = new Batch.Builder().add(P0, 10, row("a", 1, "1")).build();
        assertThat(batch.resumingAt(Map.of(P0, 12L)).nextOffsets()).isEqualTo(Map.of(P0, 12L));
        assertThat(batch.resumingAt(Map.of(P0, 5L)).nextOffsets()).isEqualTo(Map.of(P0, 11L));
    }

    @Test
    void revokedPartitionsLeaveTheBatch() {
        RejectedRecord rejected = new RejectedRecord("usage-rollups", 1, 7, RejectedRecord.Reason.TOMBSTONE, "null", new byte[] {1}, null);
        Batch batch = new Batch.Builder()
                .add(P0, 10, row("a", 1, "1"))
                .add(P1, 6, row("b", 1, "1"))
                .reject(P1, 7, rejected)
                .build()
                .without(List.of(P1));
        assertThat(batch.rows()).extracting(RollupRow::billingAccountId).containsExactly("a");
        assertThat(batch.rejected()).isEmpty();
        assertThat(batch.nextOffsets()).containsOnlyKeys(P0);
        assertThat(batch.records()).isEqualTo(1);
    }
}
