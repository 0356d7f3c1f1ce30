package dev.metering.aggregator;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import dev.metering.schemas.rules.Tenants;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of an hour's rollup a user checks (all but updated_at), and their plain recomputation from the
 * accepted events, written independently of the aggregator's code: group by (tenant, account, feature, UTC hour),
 * then one straightforward pass over each hour's events in acceptance (log) order. Applied reverts (events with
 * {@code reverts_event_id}) belong to the hour of the usage they revert: they subtract from the sum, and from the
 * billable quantity unless an ABSOLUTE was applied to the hour after that usage.
 */
public record Expected(long count, BigDecimal sum, BigDecimal billable, Instant latestAbsoluteTime, String latestAbsoluteId,
                       BigDecimal latestValue, ValueType latestType, Instant latestTime, String latestId,
                       BigDecimal min, BigDecimal max, Instant first, Instant last, BigDecimal reverted, long revertCount) {

    public static Expected of(Rollup rollup) {
        return new Expected(rollup.getEventCount(), rollup.getQuantitySum(), rollup.getBillableQuantity(),
                rollup.getLatestAbsoluteEventTime(), rollup.getLatestAbsoluteEventId(), rollup.getLatestValue(), rollup.getLatestValueType(),
                rollup.getLatestEventTime(), rollup.getLatestEventId(), rollup.getMinValue(), rollup.getMaxValue(),
                rollup.getFirstEventTime(), rollup.getLastEventTime(), rollup.getRevertedQuantity(), rollup.getRevertCount());
    }

    /** The identity (tenant, account, id space, event id) of a usage, or of the usage a revert names. */
    public static List<Object> identity(UsageEvent event, String eventId) {
        return List.of(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getIdSpace(), eventId);
    }

    public boolean hasAbsolute() {
        return latestAbsoluteTime != null;
    }

    public static RollupKey hourKey(UsageEvent event) {
        long time = event.getEventTime().toEpochMilli();
        return new RollupKey(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getFeatureCode(), WindowSize.HOUR,
                Instant.ofEpochMilli(time - Math.floorMod(time, 3_600_000L)));
    }

    /** The accepted events (applied reverts included) grouped by hour, each group in acceptance order. */
    public static Map<RollupKey, List<UsageEvent>> byHour(List<UsageEvent> acceptedInLogOrder) {
        Map<RollupKey, List<UsageEvent>> byHour = new LinkedHashMap<>();
        Map<List<Object>, UsageEvent> usages = new HashMap<>();
        for (UsageEvent event : acceptedInLogOrder) {
            UsageEvent placedBy = event;
            if (event.getRevertsEventId() == null) {
                usages.put(identity(event, event.getEventId()), event);
            } else {
                placedBy = usages.get(identity(event, event.getRevertsEventId()));
                if (placedBy == null) {
                    throw new IllegalArgumentException("applied revert " + event.getEventId() + " of a usage that was not accepted");
                }
            }
            byHour.computeIfAbsent(hourKey(placedBy), k -> new ArrayList<>()).add(event);
        }
        return byHour;
    }

    /** @param acceptedInLogOrder the accepted events; within one account, in the order the aggregator read them */
    public static Map<RollupKey, Expected> recompute(List<UsageEvent> acceptedInLogOrder) {
        Map<RollupKey, Expected> expected = new HashMap<>();
        byHour(acceptedInLogOrder).forEach((key, events) -> expected.put(key, of(events)));
        return expected;
    }

    /** One hour from its events (usages and the reverts of its usages) in acceptance order. */
    public static Expected of(List<UsageEvent> events) {
        long count = 0;
        BigDecimal reverted = BigDecimal.ZERO;
        long reverts = 0;
        int absolutesApplied = 0;
        Map<List<Object>, Integer> absolutesAppliedAtUsage = new HashMap<>();
        BigDecimal sum = BigDecimal.ZERO;
        BigDecimal billable = BigDecimal.ZERO;
        UsageEvent latest = events.get(0);
        UsageEvent appliedAbsolute = null;
        BigDecimal min = latest.getQuantity();
        BigDecimal max = latest.getQuantity();
        Instant first = latest.getEventTime();
        Instant last = latest.getEventTime();
        for (UsageEvent event : events) {
            if (event.getRevertsEventId() != null) {
                sum = sum.subtract(event.getQuantity());
                reverted = reverted.add(event.getQuantity());
                reverts++;
                if (absolutesAppliedAtUsage.get(List.of(event.getIdSpace(), event.getRevertsEventId())) == absolutesApplied) {
                    billable = billable.subtract(event.getQuantity()); // no ABSOLUTE overwrote the usage since
                }
                continue;
            }
            count++;
            if (event.getValueType() == ValueType.DELTA) {
                sum = sum.add(event.getQuantity());
                billable = billable.add(event.getQuantity());
                absolutesAppliedAtUsage.put(List.of(event.getIdSpace(), event.getEventId()), absolutesApplied);
            } else if (appliedAbsolute == null || later(event, appliedAbsolute)) {
                appliedAbsolute = event;
                billable = event.getQuantity();
                absolutesApplied++;
            }
            if (later(event, latest)) {
                latest = event;
            }
            min = min.min(event.getQuantity());
            max = max.max(event.getQuantity());
            first = event.getEventTime().isBefore(first) ? event.getEventTime() : first;
            last = event.getEventTime().isAfter(last) ? event.getEventTime() : last;
        }
        return new Expected(count, sum.setScale(12), billable.setScale(12),
                appliedAbsolute == null ? null : appliedAbsolute.getEventTime(), appliedAbsolute == null ? null : appliedAbsolute.getEventId(),
                latest.getQuantity(), latest.getValueType(), latest.getEventTime(), latest.getEventId(), min, max, first, last,
                reverted.setScale(12), reverts);
    }

    private static boolean later(UsageEvent event, UsageEvent than) {
        int byTime = event.getEventTime().compareTo(than.getEventTime());
        return byTime > 0 || (byTime == 0 && event.getEventId().compareTo(than.getEventId()) > 0);
    }

    /** Human-readable differences between what was expected and what was read, empty when equal. */
    public static List<String> differences(Map<RollupKey, Expected> expected, Map<RollupKey, Expected> actual) {
        List<String> mismatches = new ArrayList<>();
        for (var entry : expected.entrySet()) {
            Expected got = actual.get(entry.getKey());
            if (!entry.getValue().equals(got)) {
                mismatches.add(entry.getKey() + ": expected " + entry.getValue() + " but got " + got);
            }
        }
        for (RollupKey key : actual.keySet()) {
            if (!expected.containsKey(key)) {
                mismatches.add(key + ": not expected, got " + actual.get(key));
            }
        }
        return mismatches;
    }

    /** The first of each identity (tenant, account, id space, event id), in order: what is accepted when nothing is late or conflicting. */
    public static List<UsageEvent> firstOccurrences(List<UsageEvent> sent) {
        java.util.Set<List<Object>> seen = new java.util.HashSet<>();
        List<UsageEvent> first = new ArrayList<>();
        for (UsageEvent event : sent) {
            if (seen.add(List.of(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getIdSpace(), event.getEventId()))) {
                first.add(event);
            }
        }
        return first;
    }
}
