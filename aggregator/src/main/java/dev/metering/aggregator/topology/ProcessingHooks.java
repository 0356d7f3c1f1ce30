package dev.metering.aggregator.topology;

import dev.metering.avro.UsageEvent;

/**
 * Points inside the processing of a record where tests inject failures, as the sink's {@code BatchHooks} do for its
 * batches: a bug that a record's data meets cannot be produced on purpose any other way. Production uses {@link #NONE}.
 */
interface ProcessingHooks {
    ProcessingHooks NONE = event -> {
    };

    /** Called once the record is decoded and valid, before anything is decided or written about it. */
    void beforeDecision(UsageEvent event);
}
