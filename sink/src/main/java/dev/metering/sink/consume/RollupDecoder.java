package dev.metering.sink.consume;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.RejectedRecord;
import dev.metering.sink.store.RejectedRecord.Reason;
import dev.metering.sink.store.RollupRow;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.serde.AvroDeserializer;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.Quantities;
import dev.metering.schemas.rules.Identifiers;
import dev.metering.schemas.rules.RuleViolation;
import java.math.BigDecimal;
import java.time.Duration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;

/**
 * Turns polled records into a {@link Batch}. Decoding happens here rather than in the consumer, so a
 * record that cannot be stored is kept with its reason (in {@code sink_rejected_records}) instead of
 * stopping the consumer on the same offset forever.
 */
public final class RollupDecoder {
    private final AvroDeserializer<RollupKey> keys;
    private final AvroDeserializer<Rollup> values;

    /**
     * The most events (and reverts) one hour may count: far beyond any real hour (2.8 × 10^10 events a second), and low
     * enough that ten years of such hours (87,600 × 10^14) still sum within a bigint: the day and month tables, their
     * views and the query API's sums over any range it allows. A larger count (only a producer other than the aggregator
     * can write one) made every period refresh fail on its day.
     */
    static final long MAX_COUNT = 100_000_000_000_000L;

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
        if (key != null && key.getWindowSize() == WindowSize.DAY && value.getWindowSize() == WindowSize.DAY) {
            // An old aggregator's day: days are composed from the hours in PostgreSQL now.
            batch.supersede(partition, record.offset());
            return;
        }
        String invalid = invalidity(key, value);
        if (invalid != null) {
            batch.reject(partition, record.offset(), rejection(record, Reason.INVALID_VALUE, invalid));
            return;
        }
        batch.add(partition, record.offset(), RollupRow.of(value), record.key(), record.value());
    }

    /**
     * Why the rollup cannot be stored, or null. Checks what PostgreSQL would refuse or the views would misread, so
     * the common poisons never reach the database: identifiers by the shared rules (NUL, lone surrogates, control
     * characters, blank, longer than {@value Identifiers#MAX_LENGTH} characters, not NFC), decimals beyond their
     * column, an hour that is not a UTC hour, an ABSOLUTE half recorded, counts beyond {@link #MAX_COUNT}. (A lone surrogate cannot arrive through
     * Avro, whose encoder already replaced it; the check is for completeness.)
     */
    static String invalidity(RollupKey key, Rollup value) {
        if (key == null) {
            return "missing key";
        }
        if (!key.getOrgId().equals(value.getOrgId()) || !key.getBillingAccountId().equals(value.getBillingAccountId())
                || !key.getFeatureCode().equals(value.getFeatureCode()) || key.getWindowSize() != value.getWindowSize()
                || !key.getWindowStart().equals(value.getWindowStart())) {
            return "key " + key + " does not match the value's window";
        }
        String identifier = identifierProblem("org_id", value.getOrgId());
        identifier = identifier != null ? identifier : identifierProblem("billing_account_id", value.getBillingAccountId());
        identifier = identifier != null ? identifier : identifierProblem("feature_code", value.getFeatureCode());
        identifier = identifier != null ? identifier : identifierProblem("latest_event_id", value.getLatestEventId());
        if (identifier == null && value.getLatestAbsoluteEventId() != null) {
            identifier = identifierProblem("latest_absolute_event_id", value.getLatestAbsoluteEventId());
        }
        if (identifier != null) {
            return identifier;
        }
        if (value.getWindowSize() != WindowSize.HOUR) {
            return "window_size " + value.getWindowSize() + " is not stored (only HOUR)";
        }
        if (value.getWindowStart().getEpochSecond() % 3600 != 0 || value.getWindowStart().getNano() != 0
                || !value.getWindowEnd().equals(value.getWindowStart().plus(Duration.ofHours(1)))) {
            return "window " + value.getWindowStart() + " - " + value.getWindowEnd() + " is not one UTC hour";
        }
        if (value.getEventCount() <= 0 || value.getEventCount() > MAX_COUNT) {
            return "event_count must be > 0 and at most " + MAX_COUNT + ", got " + value.getEventCount();
        }
        if ((value.getLatestAbsoluteEventTime() == null) != (value.getLatestAbsoluteEventId() == null)) {
            return "latest_absolute_event_time and latest_absolute_event_id must both be set or both be null";
        }
        String decimal = decimalProblem("quantity_sum", value.getQuantitySum(), true);
        decimal = decimal != null ? decimal : decimalProblem("billable_quantity", value.getBillableQuantity(), true);
        decimal = decimal != null ? decimal : decimalProblem("reverted_quantity", value.getRevertedQuantity(), true);
        if (decimal == null && value.getRevertedQuantity().signum() < 0) {
            decimal = "reverted_quantity must not be negative, got " + value.getRevertedQuantity().toPlainString();
        }
        if (decimal == null && (value.getRevertCount() < 0 || value.getRevertCount() > MAX_COUNT)) {
            decimal = "revert_count must be >= 0 and at most " + MAX_COUNT + ", got " + value.getRevertCount();
        }
        decimal = decimal != null ? decimal : decimalProblem("latest_value", value.getLatestValue(), false);
        decimal = decimal != null ? decimal : decimalProblem("min_value", value.getMinValue(), false);
        return decimal != null ? decimal : decimalProblem("max_value", value.getMaxValue(), false);
    }

    private static String identifierProblem(String field, String value) {
        try {
            if (!Identifiers.normalize(field, value).equals(value)) {
                return field + " is not in normal form (NFC)";
            }
            return null;
        } catch (RuleViolation e) {
            return e.getMessage();
        }
    }

    private static String decimalProblem(String field, BigDecimal value, boolean sum) {
        try {
            if (sum) {
                Quantities.exactSum(value);
            } else {
                Quantities.exact(value);
            }
            return null;
        } catch (IllegalArgumentException | ArithmeticException e) {
            return field + " " + value.toPlainString() + " " + e.getMessage() + " (numeric(" + (sum ? Quantities.SUM_PRECISION : Quantities.PRECISION)
                    + "," + Quantities.SCALE + "))";
        }
    }

    private static RejectedRecord rejection(ConsumerRecord<byte[], byte[]> record, Reason reason, String detail) {
        return new RejectedRecord(record.topic(), record.partition(), record.offset(), reason, detail, record.key(), record.value());
    }
}
