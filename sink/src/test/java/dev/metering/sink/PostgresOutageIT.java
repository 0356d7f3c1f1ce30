package dev.metering.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.metering.avro.Rollup;
import dev.metering.avro.WindowSize;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.embedded.PostgresDatabase;
import dev.metering.embedded.SharedKafka;
import dev.metering.sink.store.Batch;
import dev.metering.sink.store.BatchHooks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** PostgreSQL goes away and comes back: the sink reports not ready, keeps its place, and resumes with nothing lost. */
@ExtendWith(SharedKafka.class)
class PostgresOutageIT {
    private static TestPipeline pipeline;

    @BeforeAll
    static void start(EmbeddedKafka kafka) {
        pipeline = new TestPipeline(kafka, PostgresDatabase.ownServerForTests()); // stops and starts it
    }

    @AfterAll
    static void stop() {
        if (pipeline != null) {
            pipeline.close();
        }
    }

    private static List<Rollup> versions(String account, int from, int to) {
        List<Rollup> rollups = new ArrayList<>();
        for (int version = from; version <= to; version++) {
            rollups.add(Rollups.delta(account, "api_calls", WindowSize.HOUR, "2026-11-20T10:00:00Z", version, version + ".5"));
            rollups.add(Rollups.absolute(account, "seats", WindowSize.HOUR, "2026-11-20T09:00:00Z", version, String.valueOf(version * 10),
                    "2026-11-20T09:0" + Math.min(version, 9) + ":00Z", "s" + version));
        }
        return rollups;
    }

    private static Map<String, Object> daily(String account) {
        List<Map<String, Object>> rows = pipeline.query("SELECT billable_quantity, event_count FROM usage_daily WHERE org_id = 'default' AND billing_account_id = '" + account
                + "' AND feature_code = 'seats'");
        return rows.isEmpty() ? Map.of() : rows.get(0);
    }

    private static boolean hasVersion(String account, long version) {
        List<Map<String, Object>> rows = pipeline.query("SELECT event_count FROM usage_hourly WHERE org_id = 'default' AND billing_account_id = '" + account
                + "' AND feature_code = 'api_calls'");
        return rows.size() == 1 && (Long) rows.get(0).get("event_count") == version
                && Long.valueOf(version).equals(daily(account).get("event_count"));
    }

    private static double metric(int port, String name) {
        java.util.regex.Matcher matcher = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name) + " (\\S+)$")
                .matcher(pipeline.get(port, "/metrics").body());
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : Double.NaN;
    }

    /** Stops PostgreSQL in the middle of a batch transaction (after the upserts, before the offsets and the commit) once armed. */
    private static final class DatabaseKiller implements BatchHooks {
        private final java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();

        @Override
        public void afterUpserts(Batch batch) {
            if (armed.compareAndSet(true, false)) {
                pipeline.database.stop();
            }
        }
    }

    @Test
    void notReadyWhileDownThenResumesWithNothingLost() {
        Assumptions.assumeTrue(pipeline.database.isEmbedded(), "needs the embedded PostgreSQL to stop and start it");
        String topic = "rollups-outage";
        pipeline.createTopic(topic, 2);
        DatabaseKiller killer = new DatabaseKiller();
        try (SinkService sink = pipeline.startSink("sink-outage", topic, 10, killer)) {
            int port = sink.httpPort();
            pipeline.produce(topic, versions("outage-a", 1, 3));
            Poll.until("first records stored", () -> hasVersion("outage-a", 3));
            assertThat(pipeline.get(port, "/health/ready").statusCode()).isEqualTo(200);

            // 1. PostgreSQL down while the sink is idle: noticed, consumption paused, records produced meanwhile wait in Kafka.
            pipeline.database.stop();
            try {
                Poll.until("not ready while PostgreSQL is down", () -> pipeline.get(port, "/health/ready").statusCode() == 503);
                assertThat(pipeline.get(port, "/health/ready").body()).contains("PostgreSQL");
                pipeline.produce(topic, versions("outage-a", 4, 6));
                pipeline.produce(topic, versions("outage-b", 1, 2));
                Poll.until("several failed attempts", () -> metric(port, "sink_db_errors_total") >= 3);
                assertThat(metric(port, "sink_db_available")).isEqualTo(0.0);
                assertThat(sink.failure()).isNull();
            } finally {
                pipeline.database.start();
            }
            Poll.until("everything stored after PostgreSQL returned", () -> hasVersion("outage-a", 6) && hasVersion("outage-b", 2));
            Poll.until("ready again", () -> pipeline.get(port, "/health/ready").statusCode() == 200);
            assertThat((BigDecimal) daily("outage-a").get("billable_quantity")).isEqualByComparingTo("60");

            // 2. PostgreSQL dies in the middle of a batch: the batch is kept and retried with backoff until it returns.
            double errorsBefore = metric(port, "sink_db_errors_total");
            killer.armed.set(true);
            pipeline.produce(topic, versions("outage-c", 1, 4));
            try {
                Poll.until("the batch failing", () -> pipeline.get(port, "/health/ready").body().contains("writing a batch"),
                        () -> pipeline.get(port, "/health/ready").body());
                Poll.until("retries", () -> metric(port, "sink_db_errors_total") >= errorsBefore + 3);
                assertThat(pipeline.get(port, "/health/ready").statusCode()).isEqualTo(503);
                assertThat(sink.failure()).isNull();
            } finally {
                pipeline.database.start();
            }
            Poll.until("the kept batch stored", () -> hasVersion("outage-c", 4));
            Poll.until("ready again", () -> pipeline.get(port, "/health/ready").statusCode() == 200);
            // 6 + 6 + 4 + 8 records, each consumed and committed once.
            assertThat(metric(port, "sink_records_consumed_total")).isEqualTo(24.0);
            assertThat(metric(port, "sink_db_available")).isEqualTo(1.0);
        }
    }

    @Test
    void startWaitsForAPostgresThatIsStillStarting() throws Exception {
        Assumptions.assumeTrue(pipeline.database.isEmbedded(), "needs the embedded PostgreSQL to stop and start it");
        String topic = "rollups-late-database";
        pipeline.createTopic(topic, 1);
        pipeline.database.stop();
        SinkService sink = new SinkService(pipeline.sinkConfig("sink-late-database", topic, 10));
        java.util.concurrent.CompletableFuture<Void> started = java.util.concurrent.CompletableFuture.runAsync(sink::start);
        try {
            Thread.sleep(1500); // the database is "still starting": start() must wait, not fail
            assertThat(started).isNotDone();
        } finally {
            pipeline.database.start();
        }
        try (sink) {
            started.get(90, java.util.concurrent.TimeUnit.SECONDS);
            pipeline.produce(topic, versions("late-db", 1, 1));
            Poll.until("stored", () -> hasVersion("late-db", 1));
        }
    }
}
