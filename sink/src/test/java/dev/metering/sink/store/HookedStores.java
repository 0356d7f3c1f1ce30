package dev.metering.sink.store;

import javax.sql.DataSource;

/** The tests' way to a {@link RollupStore} with hooks inside its transaction (the constructor that takes them is package-private). */
public final class HookedStores {
    private HookedStores() {
    }

    public static RollupStore withHooks(DataSource dataSource, String consumerGroup, BatchHooks hooks) {
        return new RollupStore(dataSource, consumerGroup, hooks);
    }
}
