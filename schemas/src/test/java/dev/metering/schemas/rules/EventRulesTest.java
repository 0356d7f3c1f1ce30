package dev.metering.schemas.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The edge-case table of the shared rules: at, just inside and just outside each limit, the API's admission
 * (at time {@code now}) and the aggregator's judgement (the record arriving within the admission margin) agree:
 * whatever the API admits, the aggregator accepts.
 */
class EventRulesTest {
    private static final EventRules RULES = new EventRules(Duration.ofHours(48), Duration.ofMinutes(5));
    private static final Instant NOW = Instant.parse("2026-11-26T10:20:30.000Z");

    /** Event time, the API's clock, and its verdict (null: admitted). */
    static Stream<Arguments> eventTimes() {
        Instant lastMsOfOldHour = Instant.parse("2026-11-24T08:59:59.999Z"); // hour 08:00, closes 2026-11-26T09:00:00Z
        Instant closes = Instant.parse("2026-11-26T09:00:00Z");
        return Stream.of(
                Arguments.of("now", NOW, NOW, null),
                Arguments.of("at the future limit", NOW.plus(Duration.ofMinutes(5)), NOW, null),
                Arguments.of("1 ms beyond the future limit", NOW.plus(Duration.ofMinutes(5)).plusMillis(1), NOW, RuleViolation.Kind.FUTURE),
                Arguments.of("window closes 1 ms after the margin", lastMsOfOldHour, closes.minus(EventRules.ADMISSION_MARGIN).minusMillis(1), null),
                Arguments.of("window closes exactly at the margin", lastMsOfOldHour, closes.minus(EventRules.ADMISSION_MARGIN), RuleViolation.Kind.LATE),
                Arguments.of("window closed 1 ms ago", lastMsOfOldHour, closes.plusMillis(1), RuleViolation.Kind.LATE),
                Arguments.of("first ms of the next hour", lastMsOfOldHour.plusMillis(1), closes.minus(EventRules.ADMISSION_MARGIN), null),
                Arguments.of("older than the grace period but its hour still open", Instant.parse("2026-11-24T10:10:00Z"), NOW, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("eventTimes")
    void apiAndAggregatorAgreeOnTime(String name, Instant eventTime, Instant now, RuleViolation.Kind apiVerdict) {
        if (apiVerdict == null) {
            assertThat(RULES.admitEventTime("event_time", eventTime, now)).isEqualTo(eventTime);
            // Admitted: accepted by the aggregator on arrival at any time within the margin.
            for (Duration delay : new Duration[] {Duration.ZERO, Duration.ofSeconds(10), EventRules.ADMISSION_MARGIN.minusMillis(1)}) {
                RULES.judgeEventTime(eventTime, now.plus(delay), now.plus(delay));
            }
        } else {
            assertThatThrownBy(() -> RULES.admitEventTime("event_time", eventTime, now)).isInstanceOf(RuleViolation.class)
                    .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(apiVerdict));
        }
    }

    @Test
    void aggregatorLateIsTheWindowClosing() {
        Instant eventTime = Instant.parse("2026-11-24T09:59:59.999Z");
        Instant closes = Instant.parse("2026-11-26T10:00:00Z");
        assertThat(RULES.windowClosesAt(eventTime)).isEqualTo(closes);
        RULES.judgeEventTime(eventTime, closes.minusMillis(1), closes.minusMillis(1));
        assertThatThrownBy(() -> RULES.judgeEventTime(eventTime, closes, closes))
                .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(RuleViolation.Kind.LATE));
        assertThatThrownBy(() -> RULES.judgeEventTime(closes.plus(Duration.ofMinutes(5)).plusMillis(1), closes, closes))
                .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(RuleViolation.Kind.FUTURE));
    }

    @Test
    void checkNormalisesAndRefusesOneRuleSet() {
        UsageEvent event = event("acct-1", "cafe\u0301", "e-1", "1.5");
        RULES.check(event);
        assertThat(event.getFeatureCode()).isEqualTo("caf\u00e9");
        assertThat(event.getQuantity()).isEqualTo(new BigDecimal("1.500000000000"));

        assertThatThrownBy(() -> RULES.check(event("acct\u0000", "f", "e", "1"))).isInstanceOf(RuleViolation.class)
                .satisfies(e -> assertThat(((RuleViolation) e).field()).isEqualTo("billing_account_id"));
        assertThatThrownBy(() -> RULES.check(event("a".repeat(2700), "f", "e", "1"))).hasMessageContaining("longer than 100");
        assertThatThrownBy(() -> RULES.check(event(" ", "f", "e", "1")))
                .satisfies(e -> assertThat(((RuleViolation) e).kind()).isEqualTo(RuleViolation.Kind.MISSING));
        assertThatThrownBy(() -> RULES.check(event("a", "f", "e", "-1"))).hasMessageContaining("must not be negative");
        assertThatThrownBy(() -> RULES.check(event("a", "f", "e", "1e26"))).hasMessageContaining("26 digits before");
        UsageEvent absoluteNegative = event("a", "f", "e", "-1");
        absoluteNegative.setValueType(ValueType.ABSOLUTE);
        assertThatThrownBy(() -> RULES.check(absoluteNegative)).hasMessageContaining("must not be negative");
        UsageEvent badOrg = event("a", "f", "e", "1");
        badOrg.setOrgId("org\ud800");
        assertThatThrownBy(() -> RULES.check(badOrg)).hasMessageStartingWith("org_id holds a lone surrogate");
    }

    @Test
    void aRevertNeedsNoFeatureButAPositiveDeltaAndANormalisedTarget() {
        UsageEvent revert = event("acct-1", "", "r-1", "2");
        revert.setRevertsEventId("cafe\u0301-usage");
        RULES.check(revert);
        assertThat(revert.getRevertsEventId()).isEqualTo("caf\u00e9-usage");
        assertThat(revert.getFeatureCode()).isEmpty();

        UsageEvent zero = event("acct-1", "", "r-2", "0");
        zero.setRevertsEventId("u-1");
        assertThatThrownBy(() -> RULES.check(zero)).hasMessageContaining("greater than 0");
        UsageEvent absolute = event("acct-1", "", "r-3", "1");
        absolute.setRevertsEventId("u-1");
        absolute.setValueType(ValueType.ABSOLUTE);
        assertThatThrownBy(() -> RULES.check(absolute)).hasMessageContaining("must be DELTA");
        UsageEvent blankTarget = event("acct-1", "", "r-4", "1");
        blankTarget.setRevertsEventId(" ");
        assertThatThrownBy(() -> RULES.check(blankTarget))
                .satisfies(e -> assertThat(((RuleViolation) e).field()).isEqualTo("reverts_event_id"));
        assertThatThrownBy(() -> RULES.check(event("acct-1", "", "u-2", "1")))
                .as("a usage still needs its feature").satisfies(e -> assertThat(((RuleViolation) e).field()).isEqualTo("feature_code"));
    }

    private static UsageEvent event(String account, String feature, String id, String quantity) {
        return UsageEvent.newBuilder()
                .setEventId(id).setBillingAccountId(account).setFeatureCode(feature)
                .setQuantity(new BigDecimal(quantity)).setValueType(ValueType.DELTA)
                .setEventTime(NOW).setReceivedAt(NOW).build();
    }
}
