package dev.metering.sink.consume;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RejectedRecord.Reason;
import dev.metering.sink.store.RollupRow;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import java.math.BigDecimal;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * Turns polled records into a {@link Batch}. Decoding happens here rather than in the consumer, so a
 * record that cannot be stored is kept with its reason (in {@code sink_rejected_records}) instead of
 * stopping the consumer on the same offset forever.
 */
public final class RollupDecoder {
    private static final int MAX_PRECISION = 38;

    private final AvroDeserializer<RollupKey> keys;
    private final AvroDeserializer<Rollup> values;

    public RollupDecoder(SchemaRegistryClient registry) {
        this.keys = new AvroDeserializer<>(RollupKey.class, registry);
        this.values = new AvroDeserializer<>(Rollup.class, registry);
    }

    public Batch decode(ConsumerRecords<byte[], byte[]> records) {
        Batch.Builder batch = new Batch.Builder();
        for (TopicPartition partition : records.partitions()) {
            for (ConsumerRecord<byte[], byte[]> record : records.records(partition)) {
                add(batch, partition, record);
            }
        }
        return batch.build();
    }

    private void add(Batch.Builder batch, TopicPartition partition, ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            batch.reject(partition, record.offset(), rejection(record, Reason.TOMBSTONE, "null value (tombstone); rollups are never deleted by the sink"));
            return;
        }
        RollupKey key;
        Rollup value;
        try {
            key = keys.deserialize(record.topic(), record.key());
            value = values.deserialize(record.topic(), record.value());
        } catch (RuntimeException e) {
            batch.reject(partition, record.offset(), rejection(record, Reason.UNDECODABLE, String.valueOf(e.getMessage())));
            return;
        }
        String invalid = invalidity(key, value);
        if (invalid != null) {
            batch.reject(partition, record.offset(), rejection(record, Reason.INVALID_VALUE, invalid));
            return;
        }
        batch.add(partition, record.offset(), RollupRow.of(value));
    }

    /** Why the rollup cannot be stored, or null. */
    static String invalidity(RollupKey key, Rollup value) {
        if (key == null) {
            return "missing key";
        }
        if (!key.getBillingAccountId().equals(value.getBillingAccountId()) || !key.getFeatureCode().equals(value.getFeatureCode())
                || key.getWindowSize() != value.getWindowSize() || !key.getWindowStart().equals(value.getWindowStart())) {
            return "key " + key + " does not match the value's window";
        }
        if (value.getEventCount() <= 0) {
            return "event_count must be > 0, got " + value.getEventCount();
        }
        if (!value.getWindowEnd().isAfter(value.getWindowStart())) {
            return "window_end " + value.getWindowEnd() + " is not after window_start " + value.getWindowStart();
        }
        for (BigDecimal quantity : new BigDecimal[] {value.getQuantitySum(), value.getLatestValue(), value.getMinValue(), value.getMaxValue()}) {
            if (quantity.precision() > MAX_PRECISION) {
                return "quantity " + quantity.toPlainString() + " has more than " + MAX_PRECISION + " digits";
            }
        }
        return null;
    }

    private static RejectedRecord rejection(ConsumerRecord<byte[], byte[]> record, Reason reason, String detail) {
        return new RejectedRecord(record.topic(), record.partition(), record.offset(), reason, detail, record.key(), record.value());
    }
}
