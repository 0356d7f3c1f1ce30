package dev.metering.e2e;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.sql.DataSource;

/** The independent recomputation of rollups from accepted events, and what PostgreSQL holds. */
final class Rollups {
    /** The figures compared: everything a bill depends on. */
    record Figures(long eventCount, BigDecimal quantitySum, BigDecimal latestValue, String latestEventId) {
    }

    private Rollups() {
    }

    /** window key ("account|feature|HOUR|start") → figures, recomputed straight from the events. */
    static Map<String, Figures> recompute(List<UsageClient.Event> events) {
        Map<String, List<UsageClient.Event>> byWindow = new TreeMap<>();
        for (UsageClient.Event event : events) {
            for (String size : List.of("HOUR", "DAY")) {
                Instant start = event.eventTime().truncatedTo(size.equals("HOUR") ? ChronoUnit.HOURS : ChronoUnit.DAYS);
                byWindow.computeIfAbsent(key(event.account(), event.feature(), size, start), k -> new java.util.ArrayList<>()).add(event);
            }
        }
        Map<String, Figures> figures = new TreeMap<>();
        byWindow.forEach((key, windowEvents) -> {
            BigDecimal sum = windowEvents.stream().filter(e -> e.valueType().equals("DELTA"))
                    .map(UsageClient.Event::quantity).reduce(BigDecimal.ZERO, BigDecimal::add);
            UsageClient.Event latest = windowEvents.stream()
                    .max(Comparator.comparing(UsageClient.Event::eventTime).thenComparing(UsageClient.Event::eventId)).orElseThrow();
            figures.put(key, new Figures(windowEvents.size(), sum.setScale(12), latest.quantity().setScale(12), latest.eventId()));
        });
        return figures;
    }

    /** The same figures as stored by the sink, for accounts starting with the prefix. */
    static Map<String, Figures> stored(DataSource dataSource, String accountPrefix) {
        Map<String, Figures> figures = new TreeMap<>();
        try (Connection connection = dataSource.getConnection();
             PreparedStatement statement = connection.prepareStatement(
                     "SELECT billing_account_id, feature_code, window_size, window_start, event_count, quantity_sum, latest_value, latest_event_id"
                             + " FROM usage_rollups WHERE billing_account_id LIKE ?")) {
            statement.setString(1, accountPrefix + "%");
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    figures.put(key(rows.getString(1), rows.getString(2), rows.getString(3), rows.getTimestamp(4).toInstant()),
                            new Figures(rows.getLong(5), rows.getBigDecimal(6), rows.getBigDecimal(7), rows.getString(8)));
                }
            }
        } catch (SQLException e) {
            return Map.of("unreadable: " + e.getMessage(), new Figures(-1, BigDecimal.ZERO, BigDecimal.ZERO, ""));
        }
        return figures;
    }

    private static String key(String account, String feature, String size, Instant start) {
        return account + "|" + feature + "|" + size + "|" + start;
    }
}
