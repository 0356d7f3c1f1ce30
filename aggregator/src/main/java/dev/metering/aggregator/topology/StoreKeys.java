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
        return tenant.length() + ":" + tenant + billingAccountId.length() + ":" + billingAccountId + idSpace.name() + ":" + eventId;
    }

    /** One rollup series (tenant, billing account, feature); the hour's start is the window store's timestamp. */
    static String rollup(String tenant, String billingAccountId, String featureCode) {
        return tenant.length() + ":" + tenant + billingAccountId.length() + ":" + billingAccountId + featureCode;
    }
}
