package dev.metering.aggregator;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.avro.WindowSize;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The fields of a rollup a user checks (all but updated_at), and their plain recomputation from events. */
record Expected(long count, BigDecimal sum, BigDecimal latestValue, ValueType latestType, Instant latestTime, String latestId,
                BigDecimal min, BigDecimal max, Instant first, Instant last) {

    static Expected of(Rollup rollup) {
        return new Expected(rollup.getEventCount(), rollup.getQuantitySum(), rollup.getLatestValue(), rollup.getLatestValueType(),
                rollup.getLatestEventTime(), rollup.getLatestEventId(), rollup.getMinValue(), rollup.getMaxValue(),
                rollup.getFirstEventTime(), rollup.getLastEventTime());
    }

    /** Groups the (unique, accepted) events by window and folds each group the straightforward way. */
    static Map<RollupKey, Expected> recompute(Collection<UsageEvent> events) {
        Map<RollupKey, List<UsageEvent>> byWindow = new HashMap<>();
        for (UsageEvent event : events) {
            long time = event.getEventTime().toEpochMilli();
            long hourStart = time - Math.floorMod(time, 3_600_000L);
            long dayStart = time - Math.floorMod(time, 86_400_000L);
            byWindow.computeIfAbsent(new RollupKey(event.getBillingAccountId(), event.getFeatureCode(), WindowSize.HOUR,
                    Instant.ofEpochMilli(hourStart)), k -> new ArrayList<>()).add(event);
            byWindow.computeIfAbsent(new RollupKey(event.getBillingAccountId(), event.getFeatureCode(), WindowSize.DAY,
                    Instant.ofEpochMilli(dayStart)), k -> new ArrayList<>()).add(event);
        }
        Map<RollupKey, Expected> expected = new HashMap<>();
        byWindow.forEach((key, windowEvents) -> {
            BigDecimal sum = BigDecimal.ZERO;
            UsageEvent latest = windowEvents.get(0);
            BigDecimal min = latest.getQuantity();
            BigDecimal max = latest.getQuantity();
            Instant first = latest.getEventTime();
            Instant last = latest.getEventTime();
            for (UsageEvent event : windowEvents) {
                if (event.getValueType() == ValueType.DELTA) {
                    sum = sum.add(event.getQuantity());
                }
                int byTime = event.getEventTime().compareTo(latest.getEventTime());
                if (byTime > 0 || (byTime == 0 && event.getEventId().compareTo(latest.getEventId()) > 0)) {
                    latest = event;
                }
                min = min.min(event.getQuantity());
                max = max.max(event.getQuantity());
                first = event.getEventTime().isBefore(first) ? event.getEventTime() : first;
                last = event.getEventTime().isAfter(last) ? event.getEventTime() : last;
            }
            expected.put(key, new Expected(windowEvents.size(), sum.setScale(12), latest.getQuantity(), latest.getValueType(),
                    latest.getEventTime(), latest.getEventId(), min, max, first, last));
        });
        return expected;
    }

    /** Human-readable differences between what was expected and what was read, empty when equal. */
    static List<String> differences(Map<RollupKey, Expected> expected, Map<RollupKey, Expected> actual) {
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
}
