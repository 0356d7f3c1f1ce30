package dev.metering.sink;

import dev.metering.avro.WindowSize;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.Migrations;
import dev.metering.sink.store.RollupRow;
import dev.metering.sink.store.RollupStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Rows per second of the sink's batch transaction on 100,000 distinct keys, uniformly shuffled, in batches of
 * {@code SINK_BATCH_SIZE}'s default (500): a first pass inserts, the next ones update. A measurement, not a test: runs
 * only with {@code -Dsink.bench=true}.
 */
@EnabledIfSystemProperty(named = "sink.bench", matches = "true")
class UpsertThroughputIT {
    private static final int KEYS = 100_000;
    private static final int BATCH = 500;

    @Test
    void measure() {
        try (PostgresDatabase database = PostgresDatabase.forTests()) {
            Migrations.migrate(database.dataSource(), 0, Duration.ofSeconds(1));
            com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource();
            pool.setJdbcUrl(database.jdbcUrl());
            pool.setUsername(database.username());
            if (!database.password().isEmpty()) {
                pool.setPassword(database.password());
            }
            pool.setMaximumPoolSize(1);
            try (pool) {
                RollupStore store = new RollupStore(pool, "bench");
                TopicPartition partition = new TopicPartition("bench", 0);
                long[] offset = {0};
                Map<TopicPartition, Long> expected = new HashMap<>();
                expected.put(partition, null);
                Random random = new Random(20);
                List<Integer> keys = new ArrayList<>();
                for (int i = 0; i < KEYS; i++) {
                    keys.add(i);
                }
                String[] features = {"api_calls", "storage_gb", "seats", "tokens"};
                for (int pass = 1; pass <= 4; pass++) {
                    Collections.shuffle(keys, random);
                    long started = System.nanoTime();
                    int upserted = 0;
                    for (int from = 0; from < KEYS; from += BATCH) {
                        Batch.Builder batch = new Batch.Builder();
                        for (int key : keys.subList(from, Math.min(KEYS, from + BATCH))) {
                            batch.add(partition, offset[0]++, RollupRow.of(Rollups.delta("bench-acct-" + (key / 4), features[key % 4], WindowSize.HOUR,
                                    "2026-11-20T10:00:00Z", pass, pass + "." + key)));
                        }
                        Batch built = batch.build();
                        upserted += store.write(built, expected).rowsUpserted();
                        expected.put(partition, built.nextOffsets().get(partition));
                    }
                    double seconds = (System.nanoTime() - started) / 1e9;
                    System.out.printf("BENCH upsert=%s pass=%d (%s) rows=%d written=%d seconds=%.2f rows/s=%.0f%n",
                            "unnest", pass, pass == 1 ? "insert" : "update", KEYS, upserted, seconds,
                            KEYS / seconds);
                }
            }
        }
    }
}
