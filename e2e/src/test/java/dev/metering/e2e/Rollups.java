package dev.metering.e2e;

import dev.metering.avro.UsageEvent;
import dev.metering.avro.ValueType;
import dev.metering.schemas.Topics;
import dev.metering.schemas.registry.SchemaRegistryClient;
import dev.metering.schemas.rules.Tenants;
import dev.metering.schemas.serde.AvroDeserializer;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The independent recomputation of rollups, straight from DESIGN.md: the events of {@code usage-events} in log
 * order (the order the aggregator accepts them), those the clients were told were accepted, each identity
 * counted once; and what PostgreSQL holds.
 */
final class Rollups {
    /** The figures compared: everything a bill depends on. */
    record Figures(long eventCount, BigDecimal quantitySum, BigDecimal billableQuantity, BigDecimal latestValue, String latestEventId,
                   BigDecimal minValue, BigDecimal maxValue, BigDecimal revertedQuantity) {
    }

    private Rollups() {
    }

    static String identity(String org, String account, String idSpace, String eventId) {
        return Tenants.of(org) + "|" + account + "|" + idSpace + "|" + eventId;
    }

    static String identity(UsageEvent event) {
        return identity(event.getOrgId(), event.getBillingAccountId(), event.getIdSpace().name(), event.getEventId());
    }

    /** The events of accounts starting with {@code prefix}, in log order within each partition. */
    static List<UsageEvent> log(String bootstrapServers, String prefix) {
        AvroDeserializer<UsageEvent> events = new AvroDeserializer<>(UsageEvent.class, SchemaRegistryClient.forUrl("mem://e2e-oracle"));
        List<UsageEvent> log = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.GROUP_ID_CONFIG, "e2e-oracle-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.USAGE_EVENTS).stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not read usage-events to its end");
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.key() != null && record.key().startsWith(prefix) && record.value() != null) {
                        try {
                            log.add(events.deserialize(record.topic(), record.value()));
                        } catch (RuntimeException e) {
                            // garbage written on purpose by a test; the aggregator dead-letters it
                        }
                    }
                }
            }
        }
        return log;
    }

    /**
     * Hour rollups ("org|account|feature|hourStart") recomputed from the log: only acknowledged identities, the first
     * occurrence of each. Billable quantity: in log order, an ABSOLUTE sets the running value unless an ABSOLUTE
     * with a later (event_time, event_id) was applied before; a DELTA adds. An acknowledged (applied) revert belongs to
     * the hour of the usage it names: it subtracts from the sum, and from the billable quantity unless an ABSOLUTE was
     * applied to that hour after the usage.
     */
    static Map<String, Figures> recomputeHours(List<UsageEvent> log, Set<String> acknowledged) {
        Set<String> counted = new HashSet<>();
        Map<String, Hour> hours = new TreeMap<>();
        Map<String, String> hourOfUsage = new HashMap<>();
        for (UsageEvent event : log) {
            String identity = identity(event);
            if (!acknowledged.contains(identity) || !counted.add(identity)) {
                continue;
            }
            if (event.getRevertsEventId() != null) {
                String usage = identity(event.getOrgId(), event.getBillingAccountId(), event.getIdSpace().name(), event.getRevertsEventId());
                hours.get(hourOfUsage.get(usage)).revert(usage, event.getQuantity().setScale(12));
                continue;
            }
            Instant start = event.getEventTime().truncatedTo(ChronoUnit.HOURS);
            String hour = key(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getFeatureCode(), start);
            hourOfUsage.put(identity, hour);
            hours.computeIfAbsent(hour, k -> new Hour()).add(event);
        }
        Map<String, Figures> figures = new TreeMap<>();
        hours.forEach((key, hour) -> figures.put(key, hour.figures()));
        return figures;
    }

    /** Days ("org|account|feature|dayStart") composed from hours by DESIGN.md's period rule, in hour order. */
    static Map<String, BigDecimal> composeDays(Map<String, Figures> hours, Map<String, Boolean> hasAbsolute) {
        Map<String, BigDecimal> days = new TreeMap<>();
        hours.entrySet().stream()
                .sorted(java.util.Comparator.comparing(entry -> Instant.parse(entry.getKey().split("\\|")[3])))
                .forEach(entry -> {
                    String[] parts = entry.getKey().split("\\|");
                    String day = key(parts[0], parts[1], parts[2], Instant.parse(parts[3]).truncatedTo(ChronoUnit.DAYS));
                    // Fold in hour order: an hour with an ABSOLUTE restarts the period's value, any other hour adds.
                    days.merge(day, entry.getValue().billableQuantity(), (acc, hour) -> hasAbsolute.get(entry.getKey()) ? hour : acc.add(hour));
                });
        return days;
    }

    /** Whether each recomputed hour holds an ABSOLUTE (for composing days). */
    static Map<String, Boolean> hoursWithAbsolute(List<UsageEvent> log, Set<String> acknowledged) {
        Set<String> counted = new HashSet<>();
        Map<String, Boolean> result = new TreeMap<>();
        for (UsageEvent event : log) {
            String identity = identity(event);
            if (!acknowledged.contains(identity) || !counted.add(identity) || event.getRevertsEventId() != null) {
                continue;
            }
            String key = key(Tenants.of(event.getOrgId()), event.getBillingAccountId(), event.getFeatureCode(),
                    event.getEventTime().truncatedTo(ChronoUnit.HOURS));
            result.merge(key, event.getValueType() == ValueType.ABSOLUTE, Boolean::logicalOr);
        }
        return result;
    }

    /** The hour rollups PostgreSQL holds for accounts starting with the prefix. */
    static Map<String, Figures> storedHours(DataSource dataSource, String accountPrefix) {
        Map<String, Figures> figures = new TreeMap<>();
        query(dataSource, "SELECT org_id, billing_account_id, feature_code, window_start, event_count, quantity_sum, billable_quantity,"
                + " latest_value, latest_event_id, min_value, max_value, reverted_quantity FROM usage_hourly WHERE billing_account_id LIKE ?",
                accountPrefix, rows -> {
            figures.put(key(rows.getString(1), rows.getString(2), rows.getString(3), rows.getTimestamp(4).toInstant()),
                    new Figures(rows.getLong(5), rows.getBigDecimal(6).setScale(12), rows.getBigDecimal(7).setScale(12),
                            rows.getBigDecimal(8).setScale(12), rows.getString(9), rows.getBigDecimal(10).setScale(12),
                            rows.getBigDecimal(11).setScale(12), rows.getBigDecimal(12).setScale(12)));
        });
        return figures;
    }

    /** The daily billable quantities of the analyst view {@code usage_daily}. */
    static Map<String, BigDecimal> storedDays(DataSource dataSource, String accountPrefix) {
        Map<String, BigDecimal> days = new TreeMap<>();
        query(dataSource, "SELECT org_id, billing_account_id, feature_code, window_start, billable_quantity FROM usage_daily"
                + " WHERE billing_account_id LIKE ?", accountPrefix, rows -> days.put(
                key(rows.getString(1), rows.getString(2), rows.getString(3), rows.getTimestamp(4).toInstant()),
                rows.getBigDecimal(5).setScale(12)));
        return days;
    }

    private interface RowReader {
        void read(ResultSet rows) throws SQLException;
    }

    private static void query(DataSource dataSource, String sql, String accountPrefix, RowReader reader) {
        try (Connection connection = dataSource.getConnection(); PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, accountPrefix + "%");
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    reader.read(rows);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL unreadable: " + e.getMessage(), e);
        }
    }

    static String key(String org, String account, String feature, Instant start) {
        return org + "|" + account + "|" + feature + "|" + start;
    }

    /** One hour's fold, event by event in log order. */
    private static final class Hour {
        long count;
        BigDecimal sum = BigDecimal.ZERO.setScale(12);
        BigDecimal billable = BigDecimal.ZERO.setScale(12);
        UsageEvent latest;
        UsageEvent latestAbsolute;
        BigDecimal min;
        BigDecimal max;
        BigDecimal reverted = BigDecimal.ZERO.setScale(12);
        /** The hour's applied ABSOLUTE when each DELTA usage was added (identity → absolute, null for none). */
        final Map<String, UsageEvent> absoluteAtUsage = new HashMap<>();

        void add(UsageEvent event) {
            BigDecimal quantity = event.getQuantity().setScale(12);
            count++;
            if (event.getValueType() == ValueType.DELTA) {
                sum = sum.add(quantity);
                billable = billable.add(quantity);
                absoluteAtUsage.put(identity(event), latestAbsolute);
            } else if (latestAbsolute == null || later(event, latestAbsolute)) {
                billable = quantity;
                latestAbsolute = event;
            }
            if (latest == null || later(event, latest)) {
                latest = event;
            }
            min = min == null ? quantity : min.min(quantity);
            max = max == null ? quantity : max.max(quantity);
        }

        void revert(String usage, BigDecimal amount) {
            sum = sum.subtract(amount);
            reverted = reverted.add(amount);
            if (absoluteAtUsage.get(usage) == latestAbsolute) { // no ABSOLUTE overwrote the usage since
                billable = billable.subtract(amount);
            }
        }

        private static boolean later(UsageEvent a, UsageEvent b) {
            int byTime = a.getEventTime().compareTo(b.getEventTime());
            return byTime != 0 ? byTime > 0 : a.getEventId().compareTo(b.getEventId()) > 0;
        }

        Figures figures() {
            return new Figures(count, sum, billable, latest.getQuantity().setScale(12), latest.getEventId(), min, max, reverted);
        }
    }
}
