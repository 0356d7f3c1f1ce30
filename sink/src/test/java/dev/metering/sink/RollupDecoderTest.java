package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroSerializer;
import dev.metering.sink.consume.RollupDecoder;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RejectedRecord.Reason;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class RollupDecoderTest {
    private static final String TOPIC = "usage-rollups";
    private final SchemaRegistryClient registry = SchemaRegistryClient.forUrl("mem://rollup-decoder-test");
    private final AvroSerializer<RollupKey> keys = new AvroSerializer<>(registry, true);
    private final AvroSerializer<Rollup> values = new AvroSerializer<>(registry, false);
    private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();

    private void add(byte[] key, byte[] value) {
        records.add(new ConsumerRecord<>(TOPIC, 0, records.size(), key, value));
    }

    private void add(Rollup rollup) {
        add(keys.serialize(TOPIC, Rollups.keyOf(rollup)), values.serialize(TOPIC, rollup));
    }

    private Batch decode() {
        return new RollupDecoder(registry).decode(new ConsumerRecords<>(Map.of(new TopicPartition(TOPIC, 0), records), Map.of()));
    }

    @Test
    void decodesRollupsAndKeepsWhatCannotBeStoredWithItsReason() {
        Rollup good = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 4, "12.5");
        add(good);
        add(keys.serialize(TOPIC, Rollups.keyOf(good)), null);
        add(keys.serialize(TOPIC, Rollups.keyOf(good)), new byte[] {0, 0, 0});
        Rollup zeroCount = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-21T00:00:00Z", 1, "1");
        zeroCount.setEventCount(0L);
        add(zeroCount);
        Rollup other = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-22T00:00:00Z", 1, "1");
        add(keys.serialize(TOPIC, Rollups.keyOf(good)), values.serialize(TOPIC, other));

        Batch batch = decode();

        assertThat(batch.rows()).hasSize(1);
        assertThat(batch.rows().get(0).quantitySum()).isEqualByComparingTo("12.5");
        assertThat(batch.rejected()).extracting(RejectedRecord::recordOffset, RejectedRecord::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple(1L, Reason.TOMBSTONE),
                org.assertj.core.groups.Tuple.tuple(2L, Reason.UNDECODABLE),
                org.assertj.core.groups.Tuple.tuple(3L, Reason.INVALID_VALUE),
                org.assertj.core.groups.Tuple.tuple(4L, Reason.INVALID_VALUE));
        assertThat(batch.rejected().get(2).detail()).contains("event_count");
        assertThat(batch.rejected().get(3).detail()).contains("does not match");
        assertThat(batch.nextOffsets()).containsEntry(new TopicPartition(TOPIC, 0), 5L);
    }

    @Test
    void refusesWhatPostgresWouldRefuseBeforeItGetsThereAndSkipsOldDays() {
        add(Rollups.delta("acct", "api\u0000calls", WindowSize.HOUR, "2026-11-20T00:00:00Z", 1, "1"));
        add(Rollups.delta("a".repeat(101), "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 1, "1"));
        add(Rollups.delta("cafe\u0301", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 1, "1")); // decomposed: not NFC
        add(Rollups.delta("org\u0007", "acct", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 1, "1"));
        add(Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T00:30:00Z", 1, "1")); // not a UTC hour
        add(Rollups.delta("acct", "api", WindowSize.DAY, "2026-11-20T00:00:00Z", 1, "1")); // an old aggregator's day
        Rollup halfAbsolute = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T01:00:00Z", 1, "1");
        halfAbsolute.setLatestAbsoluteEventId("a1");
        add(halfAbsolute);
        String widest = "99999999999999999999999999999999999999.999999999999";
        add(Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T03:00:00Z", 1, widest));

        Batch batch = decode();

        assertThat(batch.rejected()).extracting(RejectedRecord::reason).containsOnly(Reason.INVALID_VALUE);
        assertThat(batch.rejected()).extracting(RejectedRecord::recordOffset, RejectedRecord::detail).satisfiesExactly(
                nul -> assertThat(nul.toList()).containsExactly(0L, "feature_code holds a NUL character at character 3"),
                tooLong -> assertThat((String) tooLong.toList().get(1)).startsWith("billing_account_id is longer than 100"),
                decomposed -> assertThat((String) decomposed.toList().get(1)).contains("billing_account_id", "NFC"),
                control -> assertThat((String) control.toList().get(1)).contains("org_id", "control character"),
                halfHour -> assertThat((String) halfHour.toList().get(1)).contains("not one UTC hour"),
                absolute -> assertThat((String) absolute.toList().get(1)).contains("latest_absolute_event_time"));
        assertThat(batch.superseded()).isEqualTo(1);
        assertThat(batch.rows()).singleElement().satisfies(row -> assertThat(row.quantitySum()).isEqualByComparingTo(widest));
        assertThat(batch.sourceOf(batch.rows().get(0)).offset()).isEqualTo(7L);
        assertThat(batch.sourceOf(batch.rows().get(0)).value()).isEqualTo(records.get(7).value());
        assertThat(batch.nextOffsets()).containsEntry(new TopicPartition(TOPIC, 0), 8L);
    }

    @Test
    void countsBeyondWhatTenYearsOfHoursCanSumInABigintAreRejected() {
        // Stored, such hours made every period refresh of their day fail ("bigint out of range"), oldest day first, so
        // no day or month table row was refreshed after them (HostileRollupsPropertyIT).
        Rollup largest = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T00:00:00Z", 100_000_000_000_000L, "1");
        add(largest);
        Rollup tooMany = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T01:00:00Z", 100_000_000_000_001L, "1");
        add(tooMany);
        Rollup tooManyReverts = Rollups.delta("acct", "api", WindowSize.HOUR, "2026-11-20T02:00:00Z", 1, "1");
        tooManyReverts.setRevertCount(Long.MAX_VALUE);
        add(tooManyReverts);

        Batch batch = decode();

        assertThat(batch.rows()).singleElement().satisfies(row -> assertThat(row.eventCount()).isEqualTo(100_000_000_000_000L));
        assertThat(batch.rejected()).extracting(RejectedRecord::recordOffset, RejectedRecord::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple(1L, Reason.INVALID_VALUE), org.assertj.core.groups.Tuple.tuple(2L, Reason.INVALID_VALUE));
        assertThat(batch.rejected().get(0).detail()).contains("event_count", "at most 100000000000000");
        assertThat(batch.rejected().get(1).detail()).contains("revert_count");
    }

    @Test
    void rejectionDetailsAreAlwaysStorableText() {
        RejectedRecord rejected = new RejectedRecord(TOPIC, 0, 1, Reason.INVALID_VALUE, "key a\u0000b \ud800 " + "x".repeat(5000), null, null);
        assertThat(rejected.detail()).startsWith("key a\\u0000b \\uD800 x").endsWith("... (cut)").doesNotContain("\u0000").hasSizeLessThan(2100);
    }
}
