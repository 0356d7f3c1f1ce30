package dev.metering.ingest.revert;

import dev.metering.avro.IdSpace;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.ingest.publish.EventPublisher;
import dev.metering.ingest.publish.PublishFailure;
import dev.metering.ingest.publish.VerdictSource;
import dev.metering.ops.http.InvalidFieldException;
import dev.metering.ingest.validation.RequestRules;
import dev.metering.schemas.DeadLetter;
import dev.metering.schemas.Verdict;
import dev.metering.schemas.rules.Tenants;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reverts of accepted usages, answered with the aggregator's verdict (issue 14). The aggregator is the authority: it
 * knows each usage's amount and what was reverted of it; this service produces the revert to {@code usage-events}
 * (a {@code UsageEvent} with {@code reverts_event_id}) and waits for its verdict on {@code usage-verdicts}.
 *
 * <p>The revert's own event id is the caller's idempotency key: a retry with the same key (after a 503, a timeout, a
 * crash) is the same revert, never applied twice, and gets the same verdict again. The future completes with the
 * {@link Verdict}, or fails: with a {@link PublishFailure} when Kafka did not acknowledge (the API answers 503), with an
 * {@link ApiException} 503 with {@code Retry-After} when no verdict came within the verdict timeout (then the revert may still be applied later: retry with the same key).
 *
 * <p>For an API: {@link #revert} (or {@link #prepare} + {@link #send}), then {@link #httpError} maps a refusal to an
 * {@link ErrorKind}: 409 for a revert of a revert or a reused idempotency key, 400 for everything else refused.
 */
public final class RevertService {
    /** Avro field names → the native API's names for them, for error messages. */
    public static final Map<String, String> NATIVE_FIELDS = Map.of("event_id", "Idempotency-Key header", "reverts_event_id", "event_id",
            "quantity", "amount", "billing_account_id", "billing_account_id", "org_id", "org_id");

    private static final Logger LOG = LoggerFactory.getLogger(RevertService.class);

    private final EventPublisher publisher;
    private final VerdictSource verdicts;
    private final RequestRules rules;
    private final Duration verdictTimeout;
    private final Duration deliveryTimeout;
    private final long retryAfterSeconds;

    public RevertService(EventPublisher publisher, VerdictSource verdicts, RequestRules rules, Duration verdictTimeout,
                         Duration deliveryTimeout, long retryAfterSeconds) {
        this.publisher = publisher;
        this.verdicts = verdicts;
        this.rules = rules;
        this.verdictTimeout = verdictTimeout;
        this.deliveryTimeout = deliveryTimeout;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /**
     * Validates and builds the revert event (identifiers normalised). Throws {@link InvalidFieldException} naming the
     * request's field ({@code fieldName} maps the Avro field names {@code event_id} (the idempotency key),
     * {@code reverts_event_id} (the usage), {@code quantity} (the amount), {@code billing_account_id}, {@code org_id}).
     *
     * @param orgId the tenant the credential acts for (null: the default tenant)
     * @param origin which API sent it, e.g. {@code batch} or {@code frontier}
     */
    public UsageEvent prepare(String orgId, String billingAccountId, IdSpace idSpace, String usageId, BigDecimal amount,
                              String idempotencyKey, String origin, UnaryOperator<String> fieldName) {
        Instant now = rules.now();
        if (idempotencyKey == null) {
            throw new InvalidFieldException(fieldName.apply("event_id"), "is required: the same key on every attempt of one revert");
        }
        if (usageId == null) {
            throw new InvalidFieldException(fieldName.apply("reverts_event_id"), "is required");
        }
        if (amount == null) {
            throw new InvalidFieldException(fieldName.apply("quantity"), "is required");
        }
        UsageEvent revert = UsageEvent.newBuilder()
                .setEventId(idempotencyKey)
                .setRevertsEventId(usageId)
                .setIdSpace(idSpace)
                .setOrgId(orgId)
                .setBillingAccountId(billingAccountId == null ? "" : billingAccountId)
                .setFeatureCode("")
                .setQuantity(amount)
                .setValueType(ValueType.DELTA)
                // A revert's own time is informational: it applies to its usage's hour, while that hour is open.
                .setEventTime(now)
                .setReceivedAt(now)
                .setOrigin(origin)
                .build();
        return rules.check(revert, fieldName);
    }

    /** Produces the prepared revert and completes with its verdict (see the class comment for failures). */
    public CompletableFuture<Verdict> send(UsageEvent revert) {
        if (revert.getRevertsEventId() == null) {
            throw new IllegalArgumentException("not a revert: " + revert.getEventId());
        }
        // Wait first, then produce: the verdict cannot pass unseen.
        CompletableFuture<Verdict> verdict = verdicts.await(key(revert), publishTimeout().plus(verdictTimeout));
        return publisher.publish(List.of(revert))
                .whenComplete((ok, error) -> {
                    if (error != null) {
                        verdict.cancel(false);
                    }
                })
                .thenCompose(ok -> verdict.copy().orTimeout(verdictTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                .exceptionally(error -> {
                    Throwable cause = unwrap(error);
                    if (cause instanceof ApiException || cause instanceof PublishFailure) {
                        throw (RuntimeException) cause; // answered by the API's error mapper (not stored: 503)
                    }
                    if (!(cause instanceof TimeoutException)) {
                        LOG.warn("No verdict for revert {}: {}", revert.getEventId(), cause.toString());
                        throw new ApiException(ErrorKind.UNAVAILABLE, "the revert's verdict could not be read; retry with the same "
                                + "idempotency key: it is applied at most once and the retry gets its verdict", retryAfterSeconds);
                    }
                    throw new ApiException(ErrorKind.UNAVAILABLE, "the revert is in Kafka but its verdict did not come within "
                            + verdictTimeout.toMillis() + "ms (is the aggregator running?); retry with the same idempotency key: "
                            + "it is applied at most once and the retry gets its verdict", retryAfterSeconds);
                });
    }

    /** {@link #prepare} then {@link #send}: the whole revert for an API endpoint. */
    public CompletableFuture<Verdict> revert(String orgId, String billingAccountId, IdSpace idSpace, String usageId, BigDecimal amount,
                                             String idempotencyKey, String origin, UnaryOperator<String> fieldName) {
        return send(prepare(orgId, billingAccountId, idSpace, usageId, amount, idempotencyKey, origin, fieldName));
    }

    /**
     * The API error for a refused revert, or null when it was applied: 409 ({@link ErrorKind#ALREADY_EXISTS}) for a
     * revert of a revert and for an idempotency key used before for another revert or usage; 400
     * ({@link ErrorKind#INVALID_ARGUMENT}) for an unknown usage, more than what remains of it, an ABSOLUTE usage, or a
     * usage whose hour closed; 500 ({@link ErrorKind#INTERNAL}) when the aggregator failed on the revert itself (set
     * aside, applied once replayed). The message starts with the reason.
     */
    public static ApiException httpError(Verdict verdict) {
        if (verdict.outcome() == Verdict.Outcome.APPLIED) {
            return null;
        }
        DeadLetter.Reason reason = verdict.rejectionReason();
        if (reason == DeadLetter.Reason.PROCESSING_FAILED) {
            // The failure's detail stays in the dead letter, for operators.
            return new ApiException(ErrorKind.INTERNAL, reason.name() + ": the aggregator failed on this revert and set it aside; "
                    + "nothing of it was applied. It is applied once replayed after a fix; a retry with the same key gets its verdict then");
        }
        ErrorKind kind = reason == DeadLetter.Reason.REVERT_OF_REVERT || reason == DeadLetter.Reason.CONFLICT
                ? ErrorKind.ALREADY_EXISTS : ErrorKind.INVALID_ARGUMENT;
        return new ApiException(kind, (reason == null ? verdict.outcome().name() : reason.name()) + ": " + verdict.detail());
    }

    static String key(UsageEvent event) {
        return Verdict.key(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getIdSpace(), event.getEventId());
    }

    private Duration publishTimeout() {
        return deliveryTimeout.plusSeconds(5); // the publisher's own safety net
    }

    static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
