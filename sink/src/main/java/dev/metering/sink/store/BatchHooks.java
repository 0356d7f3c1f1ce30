package dev.metering.sink.store;

/**
 * Points inside {@link RollupStore#write} where tests inject faults (throw to simulate a crash) or
 * observe what was committed. Production uses {@link #NONE}: the public constructor of {@link RollupStore}
 * takes no hooks; tests reach the package-private one through a factory in their own sources.
 */
public interface BatchHooks {
    BatchHooks NONE = new BatchHooks() {
    };

    /** After the rollup upserts ran, before the offsets are stored and the transaction commits. */
    default void afterUpserts(Batch batch) {
    }

    /** After the transaction committed, before the consumer moves on. */
    default void afterCommit(Batch batch) {
    }
}
