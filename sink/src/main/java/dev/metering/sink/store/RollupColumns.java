package dev.metering.sink.store;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;

/**
 * Rollup rows turned around, one array per column, for {@link RollupDao#upsertRollups}. Every value travels as
 * text and is cast by PostgreSQL (numeric from the exact plain decimal, timestamptz from ISO-8601 UTC), so no
 * value goes through a lossy type on the way. Nullable columns hold null elements.
 */
public record RollupColumns(String[] orgIds, String[] billingAccountIds, String[] featureCodes, String[] windowSizes, String[] windowStarts,
                            String[] windowEnds, String[] eventCounts, String[] quantitySums, String[] billableQuantities,
                            String[] latestValues, String[] latestValueTypes, String[] latestEventTimes, String[] latestEventIds,
                            String[] latestAbsoluteEventTimes, String[] latestAbsoluteEventIds, String[] minValues,
                            String[] maxValues, String[] firstEventTimes, String[] lastEventTimes, String[] updatedAts,
                            String[] revertedQuantities, String[] revertCounts) {

    public static RollupColumns of(List<RollupRow> rows) {
        return new RollupColumns(
                column(rows, RollupRow::orgId),
                column(rows, RollupRow::billingAccountId),
                column(rows, RollupRow::featureCode),
                column(rows, RollupRow::windowSize),
                column(rows, row -> time(row.windowStart())),
                column(rows, row -> time(row.windowEnd())),
                column(rows, row -> Long.toString(row.eventCount())),
                column(rows, row -> decimal(row.quantitySum())),
                column(rows, row -> decimal(row.billableQuantity())),
                column(rows, row -> decimal(row.latestValue())),
                column(rows, RollupRow::latestValueType),
                column(rows, row -> time(row.latestEventTime())),
                column(rows, RollupRow::latestEventId),
                column(rows, row -> time(row.latestAbsoluteEventTime())),
                column(rows, RollupRow::latestAbsoluteEventId),
                column(rows, row -> decimal(row.minValue())),
                column(rows, row -> decimal(row.maxValue())),
                column(rows, row -> time(row.firstEventTime())),
                column(rows, row -> time(row.lastEventTime())),
                column(rows, row -> time(row.updatedAt())),
                column(rows, row -> decimal(row.revertedQuantity())),
                column(rows, row -> Long.toString(row.revertCount())));
    }

    private static String[] column(List<RollupRow> rows, Function<RollupRow, String> value) {
        String[] column = new String[rows.size()];
        for (int i = 0; i < column.length; i++) {
            column[i] = value.apply(rows.get(i));
        }
        return column;
    }

    private static String decimal(BigDecimal value) {
        return value == null ? null : value.toPlainString();
    }

    private static String time(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
