package dev.metering.aggregator.topology;

import dev.metering.avro.WindowSize;

/**
 * Keys of the state stores. Each begins with the billing account id's length, so no choice of ids
 * (any characters at all) can make two different keys collide.
 */
final class StoreKeys {
    private StoreKeys() {
    }

    static String dedupe(String billingAccountId, String eventId) {
        return billingAccountId.length() + ":" + billingAccountId + eventId;
    }

    /** One rollup series; the window start is the window store's timestamp. */
    static String rollup(String billingAccountId, String featureCode, WindowSize size) {
        return billingAccountId.length() + ":" + billingAccountId + featureCode + "|" + size.name();
    }
}
