package dev.metering.aggregator.topology;

import dev.metering.avro.IdSpace;

/**
 * Keys of the state stores. Every variable-length part but the last is prefixed with its length, so no choice of
 * identifiers (any characters at all) can make two different keys collide.
 */
final class StoreKeys {
    private StoreKeys() {
    }

    /** An event's identity: (tenant, billing account, id space, event id). */
    static String dedupe(String tenant, String billingAccountId, IdSpace idSpace, String eventId) {
        // The same text keys usage-verdicts, so a waiting API finds the verdict of the identity it sent.
        return dev.metering.schemas.Verdict.key(tenant, billingAccountId, idSpace, eventId);
    }

    /** One rollup series (tenant, billing account, feature); the hour's start is the window store's timestamp. */
    static String rollup(String tenant, String billingAccountId, String featureCode) {
        return tenant.length() + ":" + tenant + billingAccountId.length() + ":" + billingAccountId + featureCode;
    }

    /** An hour of a series: {@code hourStart:series}, the key of {@link Hour}s in memory and of older versions' marks. */
    static String mark(String series, long hourStart) {
        return hourStart + ":" + series;
    }

    /** An hour of a series, with the parts of its series' key and its {@link #mark} (built once: it keys every lookup). */
    record Hour(long hourStart, String series, String tenant, String billingAccountId, String featureCode, String mark) {
        private Hour(long hourStart, String series, String tenant, String billingAccountId, String featureCode) {
            this(hourStart, series, tenant, billingAccountId, featureCode, StoreKeys.mark(series, hourStart));
        }
    }

    /** The hour of a series, built from its parts. */
    static Hour hour(String tenant, String billingAccountId, String featureCode, long hourStart) {
        return new Hour(hourStart, rollup(tenant, billingAccountId, featureCode), tenant, billingAccountId, featureCode);
    }

    /** The hour a {@link #mark} names. */
    static Hour parseMark(String mark) {
        int colon = mark.indexOf(':');
        return parseSeries(mark.substring(colon + 1), Long.parseLong(mark.substring(0, colon)));
    }

    /** The hour of a series' key (as the rollup store holds it) starting at {@code hourStart}. */
    static Hour parseSeries(String series, long hourStart) {
        int tenantColon = series.indexOf(':');
        int tenantEnd = tenantColon + 1 + Integer.parseInt(series.substring(0, tenantColon));
        String tenant = series.substring(tenantColon + 1, tenantEnd);
        int accountColon = series.indexOf(':', tenantEnd);
        int accountEnd = accountColon + 1 + Integer.parseInt(series.substring(tenantEnd, accountColon));
        return new Hour(hourStart, series, tenant, series.substring(accountColon + 1, accountEnd), series.substring(accountEnd));
    }
}
