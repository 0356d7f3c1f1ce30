package dev.metering.schemas.rules;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Quantities;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The one set of event rules: every component that judges an event (the ingest APIs before they answer, the
 * aggregator before it counts) asks this class, configured from the same variables, so the API refuses exactly
 * what the aggregator would dead-letter.
 *
 * <ul>
 *   <li>{@link #check(UsageEvent)}: required fields (a revert, {@code reverts_event_id} set, needs no feature code,
 *       but a DELTA quantity greater than 0), identifiers ({@link Identifiers}), quantities (exact
 *       decimal(38, 12), never negative), texts. Identifiers are normalised in place.</li>
 *   <li>Time: an event is FUTURE when its time is more than {@code maxFutureSkew} after the reference (the API's
 *       clock, the record's arrival in Kafka); it is LATE once its UTC hour ended more than {@code gracePeriod}
 *       before the reference (the aggregator's stream time). The API refuses an event {@link #ADMISSION_MARGIN}
 *       before that, so an event it acknowledged is not late by the time it reaches the aggregator.</li>
 * </ul>
 */
public final class EventRules {
    public static final String GRACE_PERIOD_VARIABLE = "METERING_GRACE_PERIOD";
    public static final String MAX_FUTURE_SKEW_VARIABLE = "METERING_MAX_FUTURE_SKEW";
    public static final Duration DEFAULT_GRACE_PERIOD = Duration.ofHours(48);
    public static final Duration DEFAULT_MAX_FUTURE_SKEW = Duration.ofMinutes(5);
    /** How long before its window closes the API stops accepting an event (time for it to reach the aggregator). */
    public static final Duration ADMISSION_MARGIN = Duration.ofMinutes(1);
    public static final int MAX_METADATA_ENTRIES = 100;

    private final Duration gracePeriod;
    private final Duration maxFutureSkew;

    public EventRules(Duration gracePeriod, Duration maxFutureSkew) {
        this.gracePeriod = Objects.requireNonNull(gracePeriod, "gracePeriod");
        this.maxFutureSkew = Objects.requireNonNull(maxFutureSkew, "maxFutureSkew");
        if (gracePeriod.isNegative() || maxFutureSkew.isNegative()) {
            throw new IllegalArgumentException("grace period and max future skew must not be negative");
        }
    }

    public static EventRules defaults() {
        return new EventRules(DEFAULT_GRACE_PERIOD, DEFAULT_MAX_FUTURE_SKEW);
    }

    public Duration gracePeriod() {
        return gracePeriod;
    }

    public Duration maxFutureSkew() {
        return maxFutureSkew;
    }

    /**
     * Checks everything but time, normalising identifiers and the quantity's scale in place.
     *
     * @return the same event
     * @throws RuleViolation for the first broken rule, naming the Avro field
     */
    public UsageEvent check(UsageEvent event) {
        event.setOrgId(Identifiers.normalizeOptional("org_id", event.getOrgId()));
        event.setBillingAccountId(Identifiers.normalize("billing_account_id", event.getBillingAccountId()));
        boolean revert = event.getRevertsEventId() != null;
        if (revert) {
            // A revert applies to its usage's feature and hour (the aggregator knows them); its own feature_code is ignored.
            event.setFeatureCode(Identifiers.text("feature_code", event.getFeatureCode() == null ? "" : event.getFeatureCode(), Identifiers.MAX_LENGTH));
            event.setRevertsEventId(Identifiers.normalize("reverts_event_id", event.getRevertsEventId()));
        } else {
            event.setFeatureCode(Identifiers.normalize("feature_code", event.getFeatureCode()));
        }
        event.setEventId(Identifiers.normalize("event_id", event.getEventId()));
        if (event.getQuantity() == null) {
            throw new RuleViolation("quantity", RuleViolation.Kind.MISSING, "is required");
        }
        if (event.getValueType() == null) {
            throw new RuleViolation("value_type", RuleViolation.Kind.MISSING, "is required");
        }
        if (event.getEventTime() == null) {
            throw new RuleViolation("event_time", RuleViolation.Kind.MISSING, "is required");
        }
        if (event.getReceivedAt() == null) {
            throw new RuleViolation("received_at", RuleViolation.Kind.MISSING, "is required");
        }
        event.setQuantity(quantity("quantity", event.getQuantity()));
        if (revert && event.getQuantity().signum() == 0) {
            throw new RuleViolation("quantity", RuleViolation.Kind.INVALID, "of a revert must be greater than 0");
        }
        if (revert && event.getValueType() != ValueType.DELTA) {
            throw new RuleViolation("value_type", RuleViolation.Kind.INVALID, "of a revert must be DELTA");
        }
        if (event.getEventTime().toEpochMilli() < 0) {
            throw new RuleViolation("event_time", RuleViolation.Kind.INVALID, "is before 1970: " + event.getEventTime());
        }
        Identifiers.text("usage_type", event.getUsageType(), Identifiers.MAX_LENGTH);
        Identifiers.text("user_id", event.getUserId(), Identifiers.MAX_TEXT_LENGTH);
        Identifiers.text("project_id", event.getProjectId(), Identifiers.MAX_LENGTH);
        Identifiers.text("description", event.getDescription(), Identifiers.MAX_TEXT_LENGTH);
        Identifiers.text("origin", event.getOrigin(), Identifiers.MAX_LENGTH);
        metadata(event.getMetadata());
        return event;
    }

    /** A quantity as events carry it: exact decimal(38, 12) and not negative (DELTA and ABSOLUTE alike). */
    public static java.math.BigDecimal quantity(String field, java.math.BigDecimal value) {
        java.math.BigDecimal exact;
        try {
            exact = Quantities.exact(value);
        } catch (IllegalArgumentException e) {
            throw new RuleViolation(field, RuleViolation.Kind.INVALID, e.getMessage());
        }
        if (exact.signum() < 0) {
            throw new RuleViolation(field, RuleViolation.Kind.INVALID, "must not be negative, got " + exact.stripTrailingZeros().toPlainString());
        }
        return exact;
    }

    /** Metadata keys and values are free text; at most {@value #MAX_METADATA_ENTRIES} entries. */
    public static Map<String, String> metadata(Map<String, String> metadata) {
        if (metadata == null) {
            return null;
        }
        if (metadata.size() > MAX_METADATA_ENTRIES) {
            throw new RuleViolation("metadata", RuleViolation.Kind.INVALID, "has more than " + MAX_METADATA_ENTRIES + " entries");
        }
        Map<String, String> checked = new LinkedHashMap<>();
        metadata.forEach((key, value) -> {
            Identifiers.text("metadata key", key, Identifiers.MAX_LENGTH);
            if (key.isEmpty()) {
                throw new RuleViolation("metadata", RuleViolation.Kind.INVALID, "has an empty key");
            }
            checked.put(key, Identifiers.text("metadata." + key, value, Identifiers.MAX_TEXT_LENGTH));
        });
        return checked;
    }

    /** When the window of an event with this time stops accepting events: its UTC hour's end plus the grace period. */
    public Instant windowClosesAt(Instant eventTime) {
        return eventTime.truncatedTo(ChronoUnit.HOURS).plus(Duration.ofHours(1)).plus(gracePeriod);
    }

    /**
     * The API's check of an event time against its clock: FUTURE beyond the skew, LATE from
     * {@link #ADMISSION_MARGIN} before the window closes.
     *
     * @throws RuleViolation FUTURE or LATE
     */
    public Instant admitEventTime(String field, Instant eventTime, Instant now) {
        checkFuture(field, eventTime, now);
        Instant closes = windowClosesAt(eventTime);
        if (!closes.minus(ADMISSION_MARGIN).isAfter(now)) {
            throw new RuleViolation(field, RuleViolation.Kind.LATE, "is too old: its hour " + eventTime.truncatedTo(ChronoUnit.HOURS)
                    + " closes for events at " + closes + " (grace period " + gracePeriod + ")");
        }
        return eventTime;
    }

    /**
     * The aggregator's check of an event time: FUTURE against the record's arrival, LATE against the stream time.
     *
     * @throws RuleViolation FUTURE or LATE
     */
    public void judgeEventTime(Instant eventTime, Instant arrival, Instant streamTime) {
        checkFuture("event_time", eventTime, arrival);
        Instant closes = windowClosesAt(eventTime);
        if (!closes.isAfter(streamTime)) {
            throw new RuleViolation("event_time", RuleViolation.Kind.LATE, eventTime + " is in the hour window " + eventTime.truncatedTo(ChronoUnit.HOURS)
                    + " which closed at " + closes + " (grace " + gracePeriod + "); stream time is " + streamTime);
        }
    }

    private void checkFuture(String field, Instant eventTime, Instant reference) {
        if (eventTime.isAfter(reference.plus(maxFutureSkew))) {
            throw new RuleViolation(field, RuleViolation.Kind.FUTURE, "is more than " + maxFutureSkew + " after " + reference + ": " + eventTime);
        }
    }
}
