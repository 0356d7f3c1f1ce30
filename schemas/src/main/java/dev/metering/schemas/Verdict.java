package dev.metering.schemas;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metering.avro.IdSpace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What the aggregator decided about one event, on {@link Topics#USAGE_VERDICTS}: key = {@link #key} of the event's
 * identity (UTF-8), value = this record as JSON, e.g.
 * {@code {"org_id":"default","billing_account_id":"acct-1","id_space":"NATIVE","event_id":"r-1","outcome":"REJECTED",
 * "reason":"REVERT_EXCEEDS_USAGE","detail":"...","repeated":false}}.
 *
 * <p>Written in the same Kafka Streams transaction as the decision itself (read it with {@code read_committed}), for
 * every revert, and for a usage only when its record carries the header {@link #REQUESTED_HEADER} (so producers that
 * do not ask pay nothing). A duplicate of a revert gets the stored verdict again, with {@code repeated = true}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Verdict(
        @JsonProperty("org_id") String orgId,
        @JsonProperty("billing_account_id") String billingAccountId,
        @JsonProperty("id_space") IdSpace idSpace,
        @JsonProperty("event_id") String eventId,
        @JsonProperty("outcome") Outcome outcome,
        @JsonProperty("reason") String reason,
        @JsonProperty("detail") String detail,
        @JsonProperty("repeated") boolean repeated) {

    /** Record header of a {@code usage-events} record asking for a verdict on a usage (any value, e.g. "1"). */
    public static final String REQUESTED_HEADER = "metering.verdict.requested";

    public enum Outcome {
        /** The usage was counted now, or the revert was subtracted. */
        APPLIED,
        /** A usage whose identity was accepted before with the same payload: dropped, counted once. */
        DUPLICATE,
        /** Not applied; {@code reason} is the {@link DeadLetter.Reason} it was dead-lettered with. */
        REJECTED
    }

    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public Verdict {
        Objects.requireNonNull(outcome, "outcome");
    }

    public static Verdict applied(String orgId, String billingAccountId, IdSpace idSpace, String eventId, String detail) {
        return new Verdict(orgId, billingAccountId, idSpace, eventId, Outcome.APPLIED, null, detail, false);
    }

    public static Verdict rejected(String orgId, String billingAccountId, IdSpace idSpace, String eventId, DeadLetter.Reason reason, String detail) {
        return new Verdict(orgId, billingAccountId, idSpace, eventId, Outcome.REJECTED, reason.name(), detail, false);
    }

    /** The {@link DeadLetter.Reason} of a rejection, or null. */
    public DeadLetter.Reason rejectionReason() {
        return reason == null ? null : DeadLetter.Reason.valueOf(reason);
    }

    public Verdict asRepeated() {
        return new Verdict(orgId, billingAccountId, idSpace, eventId, outcome, reason, detail, true);
    }

    /** The record key for an event identity: every part but the last length-prefixed, so no two identities collide. */
    public static String key(String tenant, String billingAccountId, IdSpace idSpace, String eventId) {
        return tenant.length() + ":" + tenant + billingAccountId.length() + ":" + billingAccountId + idSpace.name() + ":" + eventId;
    }

    public String key() {
        return key(orgId, billingAccountId, idSpace, eventId);
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a verdict as JSON", e);
        }
    }

    /** @throws IllegalArgumentException when the bytes are not a verdict */
    public static Verdict fromJson(byte[] json) {
        try {
            return JSON.readValue(json, Verdict.class);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a verdict: " + new String(json, StandardCharsets.UTF_8), e);
        }
    }
}
