package dev.metering.aggregator.dedupe;

import dev.metering.avro.UsageEvent;
import dev.metering.schemas.rules.Tenants;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.TreeMap;

/**
 * SHA-256 over every field of an event except {@code received_at}, and {@code event_time} when the API defaulted it or
 * the event is a revert (tenant and id space included): two deliveries of the same event
 * (a client retry, a producer resend) have equal fingerprints; the same id reused for different usage
 * has not. The encoding is explicit and stable (length-prefixed fields, metadata sorted by key), since
 * fingerprints live in the dedupe store across versions and restarts.
 */
public final class EventFingerprint {
    private EventFingerprint() {
    }

    public static byte[] of(UsageEvent event) {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JVM", e);
        }
        string(digest, event.getEventId());
        string(digest, event.getBillingAccountId());
        string(digest, Tenants.of(event.getOrgId()));
        string(digest, event.getFeatureCode());
        // Quantities are normalised to scale 12 before this, so 1.5 and 1.500 are the same event.
        string(digest, event.getQuantity().toPlainString());
        string(digest, event.getValueType().name());
        if (event.getEventTimeDefaulted() || event.getRevertsEventId() != null) {
            // The API set the time on receipt (a revert's time is when it was requested): a retry is received later,
            // so the time says nothing about the payload.
            digest.update((byte) 0);
        } else {
            digest.update((byte) 1);
            digest.update(ByteBuffer.allocate(Long.BYTES).putLong(event.getEventTime().toEpochMilli()).array());
        }
        string(digest, event.getUsageType());
        string(digest, event.getUserId());
        string(digest, event.getProjectId());
        string(digest, event.getDescription());
        Map<String, String> metadata = event.getMetadata();
        if (metadata == null) {
            digest.update((byte) 0);
        } else {
            digest.update((byte) 1);
            digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(metadata.size()).array());
            for (Map.Entry<String, String> entry : new TreeMap<>(metadata).entrySet()) {
                string(digest, entry.getKey());
                string(digest, entry.getValue());
            }
        }
        string(digest, event.getOrigin());
        string(digest, event.getIdSpace().name());
        if (event.getRevertsEventId() != null) {
            // Only for reverts, so the fingerprints of usages stored before reverts existed stay valid.
            string(digest, "reverts_event_id");
            string(digest, event.getRevertsEventId());
        }
        return digest.digest();
    }

    private static void string(MessageDigest digest, String value) {
        if (value == null) {
            digest.update((byte) 0);
            return;
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        digest.update((byte) 1);
        digest.update(ByteBuffer.allocate(Integer.BYTES).putInt(bytes.length).array());
        digest.update(bytes);
    }
}
