package dev.metering.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * The same pipeline under steady load for a long time, reporting memory and lag as it goes. Not part of
 * CI; run it with e.g.
 * {@code mvn -B verify -pl e2e -am -Dit.test=SoakIT -Dsoak.duration=30m -Dsoak.rate=500 -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false}.
 * Every report line: elapsed time, events accepted, events not yet in PostgreSQL (lag), resident memory
 * of each service. At the end the rollups must equal the recomputation, as in {@link GuaranteesIT}.
 */
@EnabledIfSystemProperty(named = "soak.duration", matches = ".+")
@ResourceLock(Pipeline.RESOURCE)
class SoakIT {
    @Test
    void steadyLoadKeepsMemoryFlatAndRollupsExact() throws Exception {
        Duration duration = Duration.parse("PT" + System.getProperty("soak.duration").toUpperCase());
        int rate = Integer.parseInt(System.getProperty("soak.rate", "200"));
        Duration reportEvery = Duration.parse("PT" + System.getProperty("soak.report", "10s").toUpperCase());
        String prefix = "soak-" + UUID.randomUUID().toString().substring(0, 8);
        try (Pipeline pipeline = new Pipeline()) {
            UsageClient client = new UsageClient(pipeline.apiUrl());
            long start = System.nanoTime();
            long nextReport = start;
            long sent = 0;
            int batchIndex = 0;
            System.out.printf("soak: %s at %d events/s%n", duration, rate);
            System.out.println("elapsed_s,accepted,not_yet_in_postgres,ingest_rss_mb,aggregator_rss_mb,sink_rss_mb");
            while (System.nanoTime() - start < duration.toNanos()) {
                long due = (System.nanoTime() - start) * rate / 1_000_000_000L;
                if (sent < due) {
                    int size = (int) Math.min(500, due - sent);
                    client.send(batch(prefix, batchIndex++, size));
                    sent += size;
                } else {
                    Thread.sleep(20);
                }
                if (System.nanoTime() >= nextReport) {
                    long stored = storedEventCount(pipeline, prefix);
                    System.out.printf("%d,%d,%d,%d,%d,%d%n", (System.nanoTime() - start) / 1_000_000_000L, client.accepted().size(),
                            client.accepted().size() - stored, mb(pipeline.ingest), mb(pipeline.aggregator), mb(pipeline.sink));
                    nextReport += reportEvery.toNanos();
                }
            }
            java.util.Set<String> acknowledged = new java.util.HashSet<>();
            client.accepted().forEach(event -> acknowledged.add(event.identity()));
            Map<String, Rollups.Figures> expected = Rollups.recomputeHours(Rollups.log(pipeline.kafka.bootstrapServers(), prefix), acknowledged);
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            Map<String, Rollups.Figures> stored = Map.of();
            while (System.nanoTime() < deadline && !(stored = Rollups.storedHours(pipeline.postgres.dataSource(), prefix)).equals(expected)) {
                Thread.sleep(1000);
            }
            assertThat(stored).containsExactlyInAnyOrderEntriesOf(expected);
        }
    }

    private static long storedEventCount(Pipeline pipeline, String prefix) {
        return Rollups.storedHours(pipeline.postgres.dataSource(), prefix).values().stream().mapToLong(Rollups.Figures::eventCount).sum();
    }

    private static long mb(ServiceProcess process) {
        long bytes = process.residentBytes();
        return bytes < 0 ? -1 : bytes / (1024 * 1024);
    }

    private static List<UsageClient.Event> batch(String prefix, int batchIndex, int size) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        List<UsageClient.Event> events = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            events.add(new UsageClient.Event("s" + batchIndex + "-" + i, prefix + "-acct-" + (i % 50), "api",
                    BigDecimal.valueOf(i % 1000, 2), "DELTA", now.minusSeconds(i % 3600)));
        }
        return events;
    }
}
