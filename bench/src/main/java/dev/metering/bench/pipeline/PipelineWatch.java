package dev.metering.bench.pipeline;

import dev.metering.bench.Progress;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.sqlobject.SqlObjectPlugin;

/** How far the pipeline has got: the aggregator's committed input offsets, whether the sink has caught up, and what PostgreSQL shows. */
public final class PipelineWatch implements AutoCloseable {
    private final Admin admin;
    private final String topic;
    private final String aggregatorGroup;
    private final Jdbi jdbi;
    private final BooleanSupplier sinkCaughtUp;
    private final Progress progress;

    public PipelineWatch(String bootstrapServers, String topic, String aggregatorGroup, BooleanSupplier sinkCaughtUp, String jdbcUrl,
                         String user, String password, Progress progress) {
        this.progress = progress;
        this.sinkCaughtUp = sinkCaughtUp;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
        this.topic = topic;
        this.aggregatorGroup = aggregatorGroup;
        this.jdbi = Jdbi.create(jdbcUrl, user, password).installPlugin(new SqlObjectPlugin());
    }

    /** Records in the input topic the aggregator has not yet committed as processed. */
    public long aggregatorLag() {
        Map<TopicPartition, Long> ends = endOffsets();
        Map<TopicPartition, Long> committed = committedOffsets();
        return ends.entrySet().stream().mapToLong(end -> end.getValue() - committed.getOrDefault(end.getKey(), 0L)).sum();
    }

    public long endOffsetSum() {
        return endOffsets().values().stream().mapToLong(Long::longValue).sum();
    }

    public long committedOffsetSum() {
        return committedOffsets().values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * Waits until the aggregator has committed everything in its input topic and the sink has stored every rollup,
     * so the next phase starts with nothing left over from the last (its own work only, as the naive baseline does).
     */
    public void awaitCaughtUp(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        awaitAggregatorCaughtUp(timeout);
        long lastReport = System.nanoTime();
        while (!sinkCaughtUp.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the sink had not stored every rollup after " + timeout);
            }
            if (System.nanoTime() - lastReport > 1_000_000_000L) {
                progress.line("waiting for the sink to catch up");
                lastReport = System.nanoTime();
            }
            Thread.sleep(100);
        }
    }

    /** Waits until the aggregator has committed everything in its input topic. */
    public void awaitAggregatorCaughtUp(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long lastReport = System.nanoTime();
        long lag;
        while ((lag = aggregatorLag()) > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the aggregator still had " + lag + " events to process after " + timeout);
            }
            if (System.nanoTime() - lastReport > 1_000_000_000L) {
                progress.line("waiting for the aggregator to catch up: %,d events left", lag);
                lastReport = System.nanoTime();
            }
            Thread.sleep(200);
        }
    }

    /**
     * Waits until {@code usage_hourly} shows {@code expected} as the quantity of the accounts matching the pattern, and
     * returns when it does. The sum reads every hour row (the accounts are not an index prefix), so it runs only when
     * the aggregator has committed all its input and the sink has caught up, which two broker requests and a flag tell:
     * polled as it was every 50 ms, the scan itself took most of a core from the pipeline being measured.
     *
     * @throws IllegalStateException when more than expected shows, or not all of it within the timeout
     */
    public void awaitHourlyQuantity(String accountPattern, BigDecimal expected, Duration timeout, String phase) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long lastReport = System.nanoTime();
        BigDecimal seen = null;
        while (true) {
            if (aggregatorLag() == 0 && sinkCaughtUp.getAsBoolean()) {
                seen = hourlyQuantity(accountPattern);
                if (seen.compareTo(expected) > 0) {
                    throw new IllegalStateException(phase + ": usage_hourly shows " + seen + ", more than the " + expected + " sent");
                }
                if (seen.compareTo(expected) == 0) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(phase + ": usage_hourly shows " + seen + " of " + expected + " after " + timeout);
            }
            if (System.nanoTime() - lastReport > 1_000_000_000L) {
                progress.line("%s: waiting for usage_hourly (last seen %s of %s)", phase,
                        seen == null ? "-" : seen.stripTrailingZeros().toPlainString(), expected.toPlainString());
                lastReport = System.nanoTime();
            }
            Thread.sleep(50);
        }
    }

    /** What {@link #bringPeriodsUpToDate} did: the days it found stale and how long they took. */
    public record PeriodRefresh(long staleDays, double seconds) {
    }

    /**
     * Re-folds every stale day (and its month) into the day and month tables, as the sink does in the background every
     * {@code SINK_PERIOD_REFRESH_INTERVAL}, so that the analyst queries are timed on tables that are up to date (as
     * for closed days and months) rather than on how far the background refresh happens to be.
     */
    public PeriodRefresh bringPeriodsUpToDate(Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long stale = jdbi.withExtension(RollupQueries.class, RollupQueries::staleDays);
        for (long remaining = stale; remaining > 0; remaining = jdbi.withExtension(RollupQueries.class, RollupQueries::staleDays)) {
            if (jdbi.withExtension(RollupQueries.class, queries -> queries.refreshPeriods(1_000)) == 0) {
                Thread.sleep(50); // the sink's own refresh is running
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("days still stale after " + timeout);
            }
        }
        return new PeriodRefresh(stale, (System.nanoTime() - start) / 1e9);
    }

    /**
     * Does to the run's month what the sink does to a month once it is closed (its end plus the grace period passed),
     * before it is billed: rewrites its rows in account order and vacuums the month table. The run's events are in the
     * current month, which stays open; the README's bill lines are for last month. Returns the rows rewritten.
     */
    public long closeMonthsAsTheSinkWould() {
        long rows = 0;
        for (long moved = 1; moved > 0; ) {
            moved = jdbi.withExtension(RollupQueries.class, RollupQueries::orderMonthAsClosed);
            rows += moved;
        }
        jdbi.useExtension(RollupQueries.class, RollupQueries::vacuumMonthTable);
        return rows;
    }

    public BigDecimal hourlyQuantity(String accountPattern) {
        return jdbi.withExtension(RollupQueries.class, queries -> queries.hourlyQuantity(accountPattern));
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    private Map<TopicPartition, Long> endOffsets() {
        try {
            int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                request.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            return admin.listOffsets(request).all().get().entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().offset()));
        } catch (ExecutionException e) {
            throw new IllegalStateException("Could not read the end offsets of " + topic + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Map<TopicPartition, Long> committedOffsets() {
        try {
            return admin.listConsumerGroupOffsets(aggregatorGroup).partitionsToOffsetAndMetadata().get().entrySet().stream()
                    .filter(entry -> entry.getKey().topic().equals(topic) && entry.getValue() != null)
                    .collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().offset()));
        } catch (ExecutionException e) {
            throw new IllegalStateException("Could not read the offsets of group " + aggregatorGroup + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        admin.close();
    }
}
