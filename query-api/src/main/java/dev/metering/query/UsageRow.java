package dev.metering.query;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * One row of {@code GET /v1/usage}: a window and, when grouped, its account and/or feature (else null). Billable
 * quantity and sum are net of reverts; {@code revertedQuantity} is what reverts took back.
 */
record UsageRow(Instant windowStart, Instant windowEnd, String account, String feature, BigDecimal billableQuantity,
                BigDecimal quantitySum, long eventCount, BigDecimal minValue, BigDecimal maxValue, BigDecimal latestValue,
                String latestValueType, Instant latestEventTime, BigDecimal revertedQuantity) {

    Cursor.Position position() {
        return new Cursor.Position(windowStart, account, feature);
    }
}
