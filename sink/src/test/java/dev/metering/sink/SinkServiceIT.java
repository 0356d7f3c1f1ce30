package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.WindowSize;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.embedded.SharedKafka;
import dev.metering.sink.RecordingHooks.Committed;
import dev.metering.sink.RecordingHooks.CrashPoint;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.BatchHooks;
import dev.metering.sink.store.RollupRow;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The sink against a real broker and a real PostgreSQL: exactly-once under crashes, stale updates, rejected records. */
@ExtendWith(SharedKafka.class)
class SinkServiceIT {
    private static TestPipeline pipeline;

    @BeforeAll
    static void start(EmbeddedKafka kafka) {
        pipeline = new TestPipeline(kafka, PostgresDatabase.forTests());
    }

    @AfterAll
    static void stop() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    /** Versions 1..updates of an hourly DELTA window per account; the last version of each is what PostgreSQL must end with. */
    private static List<Rollup> updates(String prefix, int accounts, int fromVersion, int toVersion) {
        List<Rollup> rollups = new ArrayList<>();
        for (int version = fromVersion; version <= toVersion; version++) {
            for (int account = 0; account < accounts; account++) {
                rollups.add(Rollups.delta(prefix + "-" + account, "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", version,
                        version + "." + account));
            }
        }
        return rollups;
    }

    /** account -> (event_count, quantity_sum) as stored. */
    private static Map<String, String> stored(String prefix) {
        Map<String, String> rows = new LinkedHashMap<>();
        for (Map<String, Object> row : pipeline.query("SELECT billing_account_id, event_count, quantity_sum FROM usage_rollups "
                + "WHERE billing_account_id LIKE '" + prefix + "-%' ORDER BY billing_account_id")) {
            rows.put((String) row.get("billing_account_id"),
                    row.get("event_count") + "/" + ((BigDecimal) row.get("quantity_sum")).stripTrailingZeros().toPlainString());
        }
        return rows;
    }

    private static Map<String, String> expected(String prefix, int accounts, int version) {
        Map<String, String> rows = new LinkedHashMap<>();
        new TreeSet<>(java.util.stream.IntStream.range(0, accounts).boxed().map(i -> prefix + "-" + i).toList()).forEach(account -> {
            String index = account.substring(account.lastIndexOf('-') + 1);
            rows.put(account, version + "/" + new BigDecimal(version + "." + index).stripTrailingZeros().toPlainString());
        });
        return rows;
    }

    private static Map<Integer, Long> storedOffsets(String group, String topic) {
        Map<Integer, Long> offsets = new HashMap<>();
        pipeline.query("SELECT partition, next_offset FROM sink_offsets WHERE consumer_group = '" + group + "' AND topic = '" + topic + "'")
                .forEach(row -> offsets.put((Integer) row.get("partition"), (Long) row.get("next_offset")));
        return offsets;
    }

    private static Map<Integer, Long> nextOffsetsOf(List<Batch> batches) {
        Map<Integer, Long> offsets = new HashMap<>();
        batches.forEach(batch -> batch.nextOffsets().forEach((partition, next) -> offsets.merge(partition.partition(), next, Math::max)));
        return offsets;
    }

    /**
     * Every record was committed exactly once: per partition the committed batches of all instances
     * cover disjoint offset ranges and add up to the records produced there.
     */
    private static void assertExactlyOnce(Map<Integer, Integer> produced, List<Committed> committed) {
        Map<Integer, List<Committed>> byPartition = committed.stream().collect(Collectors.groupingBy(c -> c.partition().partition()));
        for (Map.Entry<Integer, Integer> partition : produced.entrySet()) {
            List<Committed> ranges = new ArrayList<>(byPartition.getOrDefault(partition.getKey(), List.of()));
            ranges.sort(Comparator.comparingLong(Committed::firstOffset));
            for (int i = 1; i < ranges.size(); i++) {
                assertThat(ranges.get(i).firstOffset()).as("partition %s: batch %s overlaps %s", partition.getKey(), ranges.get(i), ranges.get(i - 1))
                        .isGreaterThanOrEqualTo(ranges.get(i - 1).nextOffset());
            }
            assertThat(ranges.stream().mapToInt(Committed::records).sum()).as("records of partition %s committed", partition.getKey())
                    .isEqualTo(partition.getValue());
        }
    }

    private static Map<Integer, Integer> sum(Map<Integer, Integer> a, Map<Integer, Integer> b) {
        Map<Integer, Integer> total = new HashMap<>(a);
        b.forEach((partition, count) -> total.merge(partition, count, Integer::sum));
        return total;
    }

    @Test
    void crashBetweenUpsertsAndCommitLeavesNoTraceAndAFreshInstanceResumes() {
        String topic = "rollups-crash-before-commit";
        String group = "sink-crash-before-commit";
        pipeline.createTopic(topic, 2);
        Map<Integer, Integer> produced = sum(pipeline.produce(topic, updates("cbc", 12, 1, 2)), pipeline.produce(topic, updates("cbc", 12, 3, 3)));

        RecordingHooks crashing = new RecordingHooks(CrashPoint.AFTER_UPSERTS, 2);
        try (SinkService first = pipeline.startSink(group, topic, 5, crashing)) {
            Poll.until("the simulated crash", () -> first.failure() != null);
            assertThat(first.failure()).isInstanceOf(RecordingHooks.SimulatedCrash.class);
            assertThat(first.notReadyReason()).contains("simulated crash");
        }
        // Only the first batch is in PostgreSQL: the crashed batch's upserts were rolled back with its offsets.
        List<Batch> committedBefore = crashing.committedBatches();
        assertThat(committedBefore).hasSize(1);
        Map<String, String> stateOfCommitted = new LinkedHashMap<>();
        committedBefore.get(0).rows().stream().sorted(Comparator.comparing(RollupRow::billingAccountId)).forEach(row ->
                stateOfCommitted.put(row.billingAccountId(), row.eventCount() + "/" + row.quantitySum().stripTrailingZeros().toPlainString()));
        Map<String, String> afterCrash = stored("cbc");
        assertThat(afterCrash).isEqualTo(stateOfCommitted);
        // Every window of the crashed batch still has an older version (or none) in PostgreSQL.
        assertThat(crashing.crashedBatch().rows()).isNotEmpty().allSatisfy(row -> {
            String stored = afterCrash.get(row.billingAccountId());
            if (stored != null) {
                assertThat(Long.parseLong(stored.substring(0, stored.indexOf('/')))).isLessThan(row.eventCount());
            }
        });
        assertThat(storedOffsets(group, topic)).isEqualTo(nextOffsetsOf(committedBefore));

        produced = sum(produced, pipeline.produce(topic, updates("cbc", 12, 4, 4)));
        RecordingHooks recording = RecordingHooks.recording();
        int total = produced.values().stream().mapToInt(Integer::intValue).sum();
        try (SinkService second = pipeline.startSink(group, topic, 5, recording)) {
            Poll.until("all records committed", () -> crashing.committedRecords() + recording.committedRecords() >= total,
                    () -> recording.committed().toString());
            assertThat(stored("cbc")).isEqualTo(expected("cbc", 12, 4));
        }
        List<Committed> all = new ArrayList<>(crashing.committed());
        all.addAll(recording.committed());
        assertExactlyOnce(produced, all);
    }

    @Test
    void crashRightAfterCommitIsNotReappliedByAFreshInstance() {
        String topic = "rollups-crash-after-commit";
        String group = "sink-crash-after-commit";
        pipeline.createTopic(topic, 2);
        Map<Integer, Integer> produced = pipeline.produce(topic, updates("cac", 10, 1, 3));

        RecordingHooks crashing = new RecordingHooks(CrashPoint.AFTER_COMMIT, 2);
        try (SinkService first = pipeline.startSink(group, topic, 4, crashing)) {
            Poll.until("the simulated crash", () -> first.failure() != null);
        }
        List<Batch> committedBefore = crashing.committedBatches();
        assertThat(committedBefore).hasSize(2);
        assertThat(storedOffsets(group, topic)).isEqualTo(nextOffsetsOf(committedBefore));

        produced = sum(produced, pipeline.produce(topic, updates("cac", 10, 4, 5)));
        RecordingHooks recording = RecordingHooks.recording();
        int total = produced.values().stream().mapToInt(Integer::intValue).sum();
        try (SinkService second = pipeline.startSink(group, topic, 4, recording)) {
            Poll.until("all records committed", () -> crashing.committedRecords() + recording.committedRecords() >= total,
                    () -> recording.committed().toString());
            assertThat(stored("cac")).isEqualTo(expected("cac", 10, 5));
        }
        // The fresh instance started exactly where the crashed one had committed.
        Map<Integer, Long> resumedAt = nextOffsetsOf(committedBefore);
        Map<Integer, Long> firstAfterRestart = new HashMap<>();
        recording.committed().forEach(c -> firstAfterRestart.merge(c.partition().partition(), c.firstOffset(), Math::min));
        firstAfterRestart.forEach((partition, first) -> assertThat(first).as("partition %s", partition)
                .isGreaterThanOrEqualTo(resumedAt.getOrDefault(partition, 0L)));
        List<Committed> all = new ArrayList<>(crashing.committed());
        all.addAll(recording.committed());
        assertExactlyOnce(produced, all);
    }

    @Test
    void staleUpdateIsIgnoredBadRecordsAreKeptAndTheServiceReportsReadyAndMetrics() {
        String topic = "rollups-stale";
        pipeline.createTopic(topic, 1);
        try (SinkService sink = pipeline.startSink("sink-stale", topic, 100, BatchHooks.NONE)) {
            int port = sink.httpPort();
            Poll.until("ready", () -> pipeline.get(port, "/health/ready").statusCode() == 200);

            pipeline.produce(topic, List.of(Rollups.delta("stale-acct", "api_calls", WindowSize.HOUR, "2026-11-20T00:00:00Z", 5, "50")));
            Poll.until("version 5 stored", () -> "5/50".equals(stored("stale").get("stale-acct")));

            pipeline.produce(topic, List.of(Rollups.delta("stale-acct", "api_calls", WindowSize.HOUR, "2026-11-20T00:00:00Z", 3, "30")));
            pipeline.produceRaw(topic, "not avro".getBytes(), "garbage".getBytes());
            Poll.until("the garbage record kept", () -> !pipeline.query("SELECT reason FROM sink_rejected_records WHERE topic = '" + topic + "'").isEmpty());

            assertThat(stored("stale")).isEqualTo(Map.of("stale-acct", "5/50"));
            assertThat(pipeline.query("SELECT reason, detail FROM sink_rejected_records WHERE topic = '" + topic + "'"))
                    .singleElement().satisfies(row -> {
                        assertThat(row.get("reason")).isEqualTo("UNDECODABLE");
                        assertThat((String) row.get("detail")).contains("magic byte");
                    });
            String metrics = pipeline.get(port, "/metrics").body();
            assertThat(metrics).contains("sink_updates_stale_total 1.0", "sink_rows_upserted_total 1.0",
                    "sink_records_rejected_total{reason=\"UNDECODABLE\"} 1.0", "sink_records_consumed_total 3.0",
                    "sink_batch_latency_seconds_count", "sink_consumer_lag", "sink_db_errors_total 0.0");
            assertThat(pipeline.get(port, "/health/ready").statusCode()).isEqualTo(200);
        }
        assertThat(pipeline.query("SELECT billable_quantity FROM usage_daily WHERE billing_account_id = 'stale-acct'"))
                .singleElement().satisfies(row -> assertThat((BigDecimal) row.get("billable_quantity")).isEqualByComparingTo("50"));
    }


    @Test
    void poisonRecordsAmidValidRollupsAreKeptAsideWithTheirBytesAndEveryValidRowLandsExactly() {
        String topic = "rollups-poison";
        pipeline.createTopic(topic, 1);
        Rollup nul = Rollups.delta("poison-nul", "api\u0000calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 1, "1");
        Rollup longAccount = Rollups.delta(DatabaseIT.incompressible(2700), "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 1, "1");
        // Passes every check before the database, which refuses it: the year 300000 is beyond timestamptz.
        Rollup farFuture = Rollups.rollup("default", "poison-year", "api_calls", WindowSize.HOUR, java.time.Instant.parse("+300000-01-01T00:00:00Z"),
                1, "1", "1", "1", dev.metering.avro.ValueType.DELTA, java.time.Instant.parse("+300000-01-01T00:10:00Z"), "e1", null, null, "1", "1");
        Rollup oldDay = Rollups.delta("poison-day", "api_calls", WindowSize.DAY, "2026-11-20T00:00:00Z", 4, "4");
        List<Rollup> valid = new ArrayList<>(updates("poison-ok", 30, 1, 2));
        String wide = "12345678901234567890123456789012345678.5"; // a 50-digit sum is valid now
        valid.add(Rollups.delta("poison-ok-wide", "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", 7, wide));
        List<Rollup> produced = new ArrayList<>(valid.subList(0, 20));
        produced.add(nul);
        produced.addAll(valid.subList(20, 40));
        produced.add(longAccount);
        produced.add(oldDay);
        produced.add(farFuture);
        produced.addAll(valid.subList(40, valid.size()));

        try (SinkService sink = pipeline.startSink("sink-poison", topic, 500, BatchHooks.NONE)) {
            int port = sink.httpPort();
            pipeline.produce(topic, produced);
            // The sink goes on after them: a later batch lands too.
            Poll.until("the first records stored", () -> stored("poison-ok").size() == 31);
            pipeline.produce(topic, updates("poison-ok", 30, 3, 3));
            Poll.until("every valid rollup stored", () -> stored("poison-ok").values().stream().filter(v -> v.startsWith("3/")).count() == 30,
                    () -> stored("poison-ok").toString());

            Map<String, String> expected = new LinkedHashMap<>(expected("poison-ok", 30, 3));
            expected.put("poison-ok-wide", "7/" + new BigDecimal(wide).stripTrailingZeros().toPlainString());
            assertThat(new java.util.TreeMap<>(stored("poison-ok"))).isEqualTo(new java.util.TreeMap<>(expected));
            assertThat(pipeline.query("SELECT 1 FROM usage_rollups WHERE billing_account_id LIKE 'poison-%' AND billing_account_id NOT LIKE 'poison-ok%'"))
                    .as("no poison and no DAY row stored").isEmpty();

            Map<String, Map<String, Object>> rejected = new HashMap<>();
            var values = new dev.metering.schemas.serde.AvroDeserializer<>(Rollup.class,
                    dev.metering.schemas.registry.SchemaRegistryClient.forUrl(TestPipeline.REGISTRY_URL));
            pipeline.query("SELECT reason, detail, record_key, record_value FROM sink_rejected_records WHERE topic = '" + topic + "'").forEach(row -> {
                Rollup rollup = values.deserialize(topic, (byte[]) row.get("record_value"));
                rejected.put(rollup.getBillingAccountId().length() > 100 ? "long" : rollup.getBillingAccountId(), row);
                assertThat(List.of(nul, longAccount, farFuture)).as("original bytes kept").contains(rollup);
                assertThat((byte[]) row.get("record_key")).isNotEmpty();
            });
            assertThat(rejected).containsOnlyKeys("poison-nul", "long", "poison-year");
            assertThat(rejected.get("poison-nul")).containsEntry("reason", "INVALID_VALUE");
            assertThat((String) rejected.get("poison-nul").get("detail")).contains("feature_code", "NUL");
            assertThat(rejected.get("long")).containsEntry("reason", "INVALID_VALUE");
            assertThat((String) rejected.get("long").get("detail")).contains("billing_account_id", "longer than 100");
            assertThat(rejected.get("poison-year")).containsEntry("reason", "REFUSED_BY_DATABASE");
            assertThat((String) rejected.get("poison-year").get("detail")).startsWith("SQLSTATE 22");

            String metrics = pipeline.get(port, "/metrics").body();
            assertThat(metrics).contains("sink_records_rejected_total{reason=\"INVALID_VALUE\"} 2.0",
                    "sink_records_rejected_total{reason=\"REFUSED_BY_DATABASE\"} 1.0",
                    "sink_records_superseded_total{window_size=\"DAY\"} 1.0",
                    "sink_records_consumed_total " + (produced.size() + 30) + ".0",
                    "sink_db_errors_total 0.0");
            assertThat(pipeline.get(port, "/health/ready").statusCode()).isEqualTo(200);
        }
        assertThat(storedOffsets("sink-poison", topic)).containsEntry(0, (long) produced.size() + 30 + 2); // + 2 transaction markers
    }

    @Test
    void closeLetsTheBatchBeingWrittenFinish() throws Exception {
        String topic = "rollups-graceful";
        String group = "sink-graceful";
        pipeline.createTopic(topic, 1);
        java.util.concurrent.CountDownLatch inBatch = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        RecordingHooks recording = new RecordingHooks(CrashPoint.NEVER, 0) {
            @Override
            public void afterUpserts(Batch batch) {
                inBatch.countDown();
                try {
                    release.await(60, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        SinkService sink = pipeline.startSink(group, topic, 100, recording);
        pipeline.produce(topic, updates("graceful", 5, 1, 1));
        assertThat(inBatch.await(90, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

        Thread closer = new Thread(sink::close, "test-closer");
        closer.start();
        Poll.until("close requested", () -> "stopping".equals(sink.notReadyReason()));
        release.countDown();
        closer.join(90_000);

        assertThat(closer.isAlive()).isFalse();
        assertThat(sink.failure()).isNull();
        assertThat(recording.committedBatches()).hasSize(1);
        assertThat(stored("graceful")).isEqualTo(expected("graceful", 5, 1));
        assertThat(storedOffsets(group, topic)).isEqualTo(nextOffsetsOf(recording.committedBatches()));
    }

    @Test
    void anOperatorRewindingTheStoredOffsetsMakesTheSinkReplayWithoutChangingNewerRows() {
        String topic = "rollups-rewind";
        String group = "sink-rewind";
        pipeline.createTopic(topic, 1);
        RecordingHooks recording = RecordingHooks.recording();
        try (SinkService sink = pipeline.startSink(group, topic, 100, recording)) {
            int port = sink.httpPort();
            pipeline.produce(topic, updates("rewind", 3, 1, 2));
            Poll.until("first records", () -> recording.committedRecords() == 6);

            pipeline.query("UPDATE sink_offsets SET next_offset = 0 WHERE consumer_group = '" + group + "' RETURNING next_offset");
            pipeline.produce(topic, updates("rewind", 3, 3, 3));

            // The batch after the rewind is refused (its expected offset is gone), the sink seeks to 0 and replays everything.
            Poll.until("replayed", () -> recording.committedRecords() == 6 + 6 + 3, () -> recording.committed().toString());
            assertThat(pipeline.get(port, "/metrics").body()).contains("sink_offset_conflicts_total 1.0");
            assertThat(stored("rewind")).isEqualTo(expected("rewind", 3, 3));
        }
    }


    @Test
    void theBackgroundRefreshBringsTheDayAndMonthTablesUpToDate() {
        String topic = "rollups-periods";
        pipeline.createTopic(topic, 2);
        try (SinkService sink = pipeline.startSink("sink-periods", topic, 50, BatchHooks.NONE)) {
            pipeline.produce(topic, updates("periods", 5, 1, 3));
            Poll.until("hours stored", () -> stored("periods").equals(expected("periods", 5, 3)));
            Poll.until("days and months refreshed", () -> pipeline.query("""
                    SELECT 1 FROM usage_daily_rollups d JOIN usage_monthly_rollups m USING (org_id, billing_account_id, feature_code)
                    WHERE d.billing_account_id LIKE 'periods-%' AND d.event_count = 3 AND m.event_count = 3
                      AND NOT EXISTS (SELECT 1 FROM usage_periods_stale s WHERE s.billing_account_id = d.billing_account_id)""").size() == 5);
            assertThat(pipeline.query("SELECT billing_account_id, quantity_sum FROM usage_daily_rollups WHERE billing_account_id LIKE 'periods-%'"))
                    .allSatisfy(row -> assertThat(((BigDecimal) row.get("quantity_sum")).stripTrailingZeros().toPlainString())
                            .isEqualTo(new BigDecimal("3." + ((String) row.get("billing_account_id")).substring("periods-".length()))
                                    .stripTrailingZeros().toPlainString()));
            assertThat(pipeline.get(sink.httpPort(), "/metrics").body()).contains("sink_periods_days_refreshed_total");
        }
    }

    @Test
    void startsBeforeItsTopicExistsAndConsumesOnceSomeoneCreatesIt() {
        String topic = "rollups-created-later";
        SinkConfig config = pipeline.sinkConfig("sink-created-later", topic, 100);
        SinkConfig withoutTopicCreation = new SinkConfig(config.kafkaBootstrapServers(), config.schemaRegistryUrl(), config.jdbcUrl(),
                config.databaseUser(), config.databasePassword(), config.groupId(), config.topic(), config.batchSize(), config.pollTimeout(),
                config.httpHost(), config.httpPort(), config.initialBackoff(), config.maxBackoff(), config.databaseConnectTimeout(),
                config.databaseCheckInterval(), config.databaseStartupRetries(), config.databasePoolSize(), false, config.topicSettings(),
                config.shutdownTimeout(), config.sessionTimeout(), config.periodRefresh(), config.databaseSocketTimeout(),
                config.databaseMaintenanceTimeout());
        try (SinkService sink = new SinkService(withoutTopicCreation)) {
            sink.start();
            Poll.until("ready without the topic", () -> sink.notReadyReason() == null, sink::notReadyReason);
            pipeline.createTopic(topic, 1);
            pipeline.produce(topic, updates("later", 2, 1, 1));
            Poll.until("records of the new topic stored", () -> stored("later").size() == 2);
        }
    }

    @Test
    void twoInstancesOfOneGroupShareThePartitionsWithoutLossOrDoubleCommits() {
        String topic = "rollups-two-instances";
        String group = "sink-two-instances";
        pipeline.createTopic(topic, 4);
        RecordingHooks a = RecordingHooks.recording();
        RecordingHooks b = RecordingHooks.recording();
        Map<Integer, Integer> produced = pipeline.produce(topic, updates("two", 20, 1, 2));
        try (SinkService first = pipeline.startSink(group, topic, 7, a); SinkService second = pipeline.startSink(group, topic, 7, b)) {
            produced = sum(produced, pipeline.produce(topic, updates("two", 20, 3, 4)));
            int total = produced.values().stream().mapToInt(Integer::intValue).sum();
            Poll.until("all records committed", () -> a.committedRecords() + b.committedRecords() >= total);
            assertThat(stored("two")).isEqualTo(expected("two", 20, 4));
        }
        List<Committed> all = new ArrayList<>(a.committed());
        all.addAll(b.committed());
        assertExactlyOnce(produced, all);
        assertThat(all.stream().map(Committed::partition).map(TopicPartition::partition).collect(Collectors.toSet())).hasSize(4);
    }
}
