package dev.metering.aggregator.validation;

import dev.metering.avro.UsageEvent;
import dev.metering.schemas.DeadLetter.Reason;
import dev.metering.schemas.registry.SchemaRegistryException;
import dev.metering.schemas.rules.EventRules;
import dev.metering.schemas.rules.RuleViolation;
import dev.metering.schemas.serde.AvroDeserializer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Decodes one raw record of {@code usage-events} and checks it with the shared {@link EventRules} (the same rules
 * the ingest API applies before it answers). Producers may bypass the ingest API, so nothing about the bytes is
 * trusted. Time (FUTURE, LATE) is judged by the processor, which knows the stream time.
 */
public final class EventValidator {
    private final AvroDeserializer<UsageEvent> deserializer;
    private final EventRules rules;

    public EventValidator(AvroDeserializer<UsageEvent> deserializer, EventRules rules) {
        this.deserializer = deserializer;
        this.rules = rules;
    }

    /** The outcome: exactly one of {@code event} and {@code rejection} is set. */
    public record Result(UsageEvent event, Rejection rejection) {
        static Result rejected(Reason reason, String detail) {
            return new Result(null, new Rejection(reason, detail));
        }
    }

    /**
     * @return the decoded event with its identifiers normalised, or why it is refused
     * @throws SchemaRegistryException when the registry cannot be reached: a transient failure must stop
     *                                 processing rather than dead-letter valid events
     */
    public Result validate(String topic, byte[] key, byte[] value) {
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
        // The key decides the partition, hence the task that owns the account's dedupe state and rollups. It must be
        // the account id exactly as the producer sent it (before normalisation), as every producer keys by it.
        String accountAsSent = event.getBillingAccountId();
        try {
            rules.check(event);
        } catch (RuleViolation violation) {
            return Result.rejected(violation.kind().deadLetterReason(), violation.getMessage());
        }
        if (key == null) {
            // An unkeyed record could land on any partition and be counted by a task that does not own the account.
            return Result.rejected(Reason.INVALID_VALUE, "record key is missing; it must be the billing_account_id");
        }
        String keyText = new String(key, StandardCharsets.UTF_8);
        if (!keyText.equals(accountAsSent)) {
            return Result.rejected(Reason.INVALID_VALUE, "record key '" + abbreviate(keyText)
                    + "' is not the billing_account_id '" + abbreviate(accountAsSent) + "'");
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
