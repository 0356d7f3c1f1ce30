package dev.metering.sink.consume;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import dev.metering.sink.Rollups;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The consumer loop over Kafka's MockConsumer and an in-memory database, one step at a time. */
class SinkLoopTest {
    private static final String TOPIC = "usage-rollups";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    private static final TopicPartition P1 = new TopicPartition(TOPIC, 1);

    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://sink-loop-test");
    private final AvroSerializer<RollupKey> keys = new AvroSerializer<>(registry, true);
    private final AvroSerializer<Rollup> values = new AvroSerializer<>(registry, false);
    private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
    private final FakeDatabase database = new FakeDatabase();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private SinkLoop loop;

    @BeforeEach
    void subscribe() {
        loop = new SinkLoop(consumer, TOPIC, new RollupDecoder(registry), database, new SinkMetrics(meters), Duration.ofMillis(1),
                Duration.ofMillis(1), Duration.ofMillis(4), Duration.ZERO);
        assertThat(loop.notReadyReason()).isEqualTo("starting");
        loop.subscribe();
        consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
        consumer.updateEndOffsets(Map.of(P0, 0L, P1, 0L));
    }

    private void produce(TopicPartition partition, int count) {
        long next = consumer.endOffsets(List.of(partition)).getOrDefault(partition, 0L);
        for (int i = 0; i < count; i++) {
            addRecord(partition, next + i);
        }
        consumer.updateEndOffsets(Map.of(partition, next + count));
    }

    private void addRecord(TopicPartition partition, long offset) {
        Rollup rollup = Rollups.delta("acct-" + partition.partition(), "api", WindowSize.HOUR,
                Instant.parse("2026-11-20T00:00:00Z").plus(Duration.ofHours(offset)).toString(), 1, "1");
        consumer.addRecord(new ConsumerRecord<>(TOPIC, partition.partition(), offset, keys.serialize(TOPIC, Rollups.keyOf(rollup)),
                values.serialize(TOPIC, rollup)));
    }

    private double counter(String name) {
        return meters.get(name).counter().count();
    }

    @Test
    void eachAssignedPartitionResumesAtTheOffsetPostgresHoldsOrAtTheBeginningWithoutOne() {
        database.offsets.put(0, 2L);
        consumer.rebalance(List.of(P0, P1));
        produce(P0, 5);
        produce(P1, 2);

        loop.step();

        assertThat(database.attempts).singleElement().satisfies(attempt -> {
            assertThat(attempt.committed()).isTrue();
            assertThat(attempt.expected()).isEqualTo(Map.of(P0, 2L)); // P1: no row expected
            assertThat(attempt.next()).isEqualTo(Map.of(P0, 5L, P1, 2L));
            assertThat(attempt.records()).isEqualTo(3 + 2);
        });
        assertThat(loop.notReadyReason()).isNull();
        assertThat(counter("sink.records.consumed")).isEqualTo(5);
    }

    @Test
    void caughtUpOnlyOnceAPollFindsNothingLeftAndEveryBatchIsStored() {
        consumer.rebalance(List.of(P0));
        produce(P0, 3);
        database.failNextWrites(1);

        loop.step(); // polled, the write fails: the batch waits
        assertThat(loop.caughtUp()).isFalse();
        loop.step(); // written
        assertThat(database.committedRecords()).isEqualTo(3);
        assertThat(loop.caughtUp()).isFalse(); // not known until a poll finds nothing more
        loop.step();
        assertThat(loop.caughtUp()).isTrue();

        produce(P0, 1);
        loop.step();
        assertThat(database.committedRecords()).isEqualTo(4);
        assertThat(loop.caughtUp()).isFalse();
        loop.step();
        assertThat(loop.caughtUp()).isTrue();
    }

    @Test
    void anOutageKeepsTheBatchPausesEveryPartitionAndRetriesUntilWrittenWithNothingSkipped() {
        consumer.rebalance(List.of(P0, P1));
        produce(P0, 3);
        database.failNextWrites(3);

        loop.step(); // offsets read, batch polled, write fails
        assertThat(consumer.paused()).isEqualTo(Set.of(P0, P1));
        assertThat(loop.notReadyReason()).isEqualTo("PostgreSQL failed while writing a batch of 3 records: SQLException: Connection to localhost:5432 refused");
        produce(P0, 2); // arrives during the outage: not fetched while paused
        loop.step();
        loop.step();
        assertThat(database.committed).isEmpty();
        assertThat(consumer.paused()).isEqualTo(Set.of(P0, P1));

        loop.step(); // PostgreSQL is back: the same batch is written, then the partitions resume
        assertThat(loop.notReadyReason()).isNull();
        assertThat(consumer.paused()).isEmpty();
        loop.step();

        assertThat(database.attempts).extracting(FakeDatabase.Attempt::records).containsExactly(3, 3, 3, 3, 2);
        assertThat(database.attempts).extracting(FakeDatabase.Attempt::committed).containsExactly(false, false, false, true, true);
        assertThat(database.offsets).isEqualTo(Map.of(0, 5L));
        assertThat(database.committedRecords()).isEqualTo(5);
        assertThat(counter("sink.db.errors")).isEqualTo(3);
        assertThat(meters.get("sink.db.available").gauge().value()).isEqualTo(1);
    }

    @Test
    void anOutageWhileReadingTheStoredOffsetsConsumesNothingUntilTheyAreRead() {
        database.offsets.put(0, 1L);
        consumer.rebalance(List.of(P0));
        produce(P0, 3);
        database.down(true);

        loop.step();
        loop.step();
        assertThat(loop.notReadyReason()).startsWith("PostgreSQL failed while reading the stored offsets: ");
        assertThat(database.attempts).isEmpty();
        assertThat(consumer.paused()).containsExactly(P0);

        database.down(false);
        loop.step();
        assertThat(database.committed).singleElement().satisfies(batch -> assertThat(batch.records()).isEqualTo(2));
        assertThat(database.offsets).isEqualTo(Map.of(0, 3L));
    }

    @Test
    void offsetsMovedBySomeoneElseAreReadAgainAndConsumingGoesOnFromThere() {
        consumer.rebalance(List.of(P0));
        produce(P0, 4);
        loop.step();
        assertThat(database.offsets).isEqualTo(Map.of(0, 4L));
        database.offsets.put(0, 6L); // another sink of the same group stored offsets 4 and 5 meanwhile
        produce(P0, 3);

        loop.step(); // polls 4..6, expects 4 stored, finds 6: rolled back, nothing written
        assertThat(counter("sink.offset.conflicts")).isEqualTo(1);
        assertThat(database.committed).hasSize(1);
        assertThat(consumer.paused()).containsExactly(P0);
        addRecord(P0, 6); // MockConsumer forgets what it returned; the broker would return offset 6 again after the seek

        loop.step(); // reads 6, seeks there, writes offset 6 only
        assertThat(database.committed).hasSize(2);
        assertThat(database.committed.get(1).records()).isEqualTo(1);
        assertThat(database.offsets).isEqualTo(Map.of(0, 7L));
    }

    @Test
    void recordsOfPartitionsTakenAwayDuringAnOutageAreLeftToTheirNextOwner() {
        consumer.rebalance(List.of(P0, P1));
        produce(P0, 2);
        produce(P1, 3);
        database.failNextWrites(1);
        loop.step();
        assertThat(database.committed).isEmpty();

        consumer.rebalance(List.of(P1)); // P0 revoked while the batch waits
        loop.step();

        assertThat(database.committed).singleElement().satisfies(batch -> {
            assertThat(batch.nextOffsets()).isEqualTo(Map.of(P1, 3L));
            assertThat(batch.records()).isEqualTo(3);
        });
        assertThat(database.offsets).doesNotContainKey(0);
    }

    @Test
    void anIdleSinkNoticesAnOutageAndItsEndForReadiness() {
        assertThat(loop.notReadyReason()).isEqualTo(DatabaseAvailability.NOT_CONTACTED);
        database.down(true);
        loop.step();
        assertThat(loop.notReadyReason()).isEqualTo("PostgreSQL failed while checking the connection: SQLException: Connection to localhost:5432 refused");
        assertThat(meters.get("sink.db.available").gauge().value()).isZero();

        database.down(false);
        loop.step();
        assertThat(loop.notReadyReason()).isNull();
        assertThat(meters.get("sink.db.available").gauge().value()).isEqualTo(1);
    }

    @Test
    void stoppingIsReportedAndEndsTheLoop() throws InterruptedException {
        loop.stop();
        assertThat(loop.notReadyReason()).isEqualTo("stopping");
        loop.run(); // returns at once: stop was asked for
        assertThat(loop.awaitFinished(Duration.ofSeconds(1))).isTrue();
        assertThat(consumer.closed()).isTrue();
        assertThat(loop.failure()).isNull();
    }
}
