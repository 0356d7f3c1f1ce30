package dev.metering.aggregator.validation;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.Quantities;
import dev.metering.schemas.registry.SchemaRegistryException;
import dev.metering.schemas.serde.AvroDeserializer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Decodes and checks one raw record of {@code usage-events}. Producers may bypass the ingest API, so
 * nothing about the bytes is trusted.
 */
public final class EventValidator {
    private final AvroDeserializer<UsageEvent> deserializer;
    private final Duration maxFutureSkew;

    public EventValidator(AvroDeserializer<UsageEvent> deserializer, Duration maxFutureSkew) {
        this.deserializer = deserializer;
        this.maxFutureSkew = maxFutureSkew;
    }

    /** The outcome: exactly one of {@code event} and {@code rejection} is set. */
    public record Result(UsageEvent event, Rejection rejection) {
        static Result rejected(Reason reason, String detail) {
            return new Result(null, new Rejection(reason, detail));
        }
    }

    /**
     * @param arrivalTime the record's timestamp (the topic uses LogAppendTime, so the broker's arrival time)
     * @throws SchemaRegistryException when the registry cannot be reached: a transient failure must stop
     *                                 processing rather than dead-letter valid events
     */
    public Result validate(String topic, byte[] key, byte[] value, long arrivalTime) {
        if (value == null) {
            return Result.rejected(Reason.MISSING_FIELD, "record has no value (tombstone)");
        }
        UsageEvent event;
        try {
            event = deserializer.deserialize(topic, value);
        } catch (SerializationException e) {
            if (e.getCause() instanceof SchemaRegistryException registryError && isTransient(registryError)) {
                throw registryError;
            }
            return Result.rejected(Reason.UNDECODABLE, String.valueOf(e.getMessage()));
        } catch (RuntimeException e) {
            // Hand-crafted bytes can make Avro fail in ways the deserializer does not wrap.
            return Result.rejected(Reason.UNDECODABLE, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        for (String[] field : new String[][] {
                {"event_id", event.getEventId()},
                {"billing_account_id", event.getBillingAccountId()},
                {"feature_code", event.getFeatureCode()}}) {
            if (field[1] == null || field[1].isBlank()) {
                return Result.rejected(Reason.MISSING_FIELD, field[0] + " is missing or empty");
            }
        }
        if (event.getQuantity() == null) {
            return Result.rejected(Reason.MISSING_FIELD, "quantity is missing");
        }
        if (event.getValueType() == null) {
            return Result.rejected(Reason.MISSING_FIELD, "value_type is missing");
        }
        if (event.getEventTime() == null) {
            return Result.rejected(Reason.MISSING_FIELD, "event_time is missing");
        }
        if (event.getReceivedAt() == null) {
            return Result.rejected(Reason.MISSING_FIELD, "received_at is missing");
        }
        if (key == null) {
            // Records are partitioned by account so one task owns an account's dedupe state and rollups;
            // an unkeyed record could land on any partition and be double-counted.
            return Result.rejected(Reason.INVALID_VALUE, "record key is missing; it must be the billing_account_id");
        }
        String keyText = new String(key, StandardCharsets.UTF_8);
        if (!keyText.equals(event.getBillingAccountId())) {
            return Result.rejected(Reason.INVALID_VALUE, "record key '" + abbreviate(keyText)
                    + "' is not the billing_account_id '" + abbreviate(event.getBillingAccountId()) + "'");
        }
        try {
            event.setQuantity(Quantities.exact(event.getQuantity()));
        } catch (IllegalArgumentException e) {
            return Result.rejected(Reason.INVALID_VALUE, "quantity " + e.getMessage());
        }
        if (event.getValueType() == ValueType.DELTA && event.getQuantity().signum() < 0) {
            return Result.rejected(Reason.INVALID_VALUE, "quantity " + event.getQuantity().toPlainString() + " is negative for a DELTA event");
        }
        if (event.getEventTime().toEpochMilli() < 0) {
            return Result.rejected(Reason.INVALID_VALUE, "event_time " + event.getEventTime() + " is before 1970");
        }
        Instant latestAllowed = Instant.ofEpochMilli(arrivalTime).plus(maxFutureSkew);
        if (event.getEventTime().isAfter(latestAllowed)) {
            return Result.rejected(Reason.FUTURE, "event_time " + event.getEventTime() + " is more than " + maxFutureSkew
                    + " after the record's arrival at " + Instant.ofEpochMilli(arrivalTime));
        }
        return new Result(event, null);
    }

    private static boolean isTransient(SchemaRegistryException e) {
        // No answer or a server error: the registry is down, the bytes may be fine. A 4xx (unknown id) is about the bytes.
        return e.status() == -1 || e.status() >= 500;
    }

    private static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 80) + "...";
    }
}
