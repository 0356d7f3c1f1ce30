package dev.metering.bench.pipeline;

import dev.metering.schemas.rules.Tenants;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The query API timed next to the same question asked of PostgreSQL directly (the ratio is what the API costs on
 * top of the database): a month by day for one account, the top accounts of a feature over a day, one account's
 * 24-hour series, and current usage for an entitlement check.
 */
public final class QueryApiTimings {
    /** p50/p99 of the API and of the direct SQL, in milliseconds. */
    public record Timing(String question, int runs, double apiP50, double apiP99, double sqlP50, double sqlP99) {
    }

    private final HttpClient http;
    private final String baseUrl;
    private final String key;
    private final Jdbi jdbi;

    public QueryApiTimings(HttpClient http, String baseUrl, String key, Jdbi jdbi) {
        this.http = http;
        this.baseUrl = baseUrl;
        this.key = key;
        this.jdbi = jdbi;
    }

    public List<Timing> time(String account, String feature, int runs) throws Exception {
        ZonedDateTime now = Instant.now().atZone(ZoneOffset.UTC);
        Instant monthStart = now.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1).toInstant();
        Instant nextMonth = now.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1).plusMonths(1).toInstant();
        Instant dayStart = now.truncatedTo(ChronoUnit.DAYS).toInstant();
        Instant hourEnd = now.truncatedTo(ChronoUnit.HOURS).plusHours(1).toInstant();
        Instant dayAgo = hourEnd.minus(Duration.ofHours(24));
        String fold = "metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start)";
        List<Timing> timings = new ArrayList<>();
        timings.add(timing("a month by day, one account", runs,
                "/v1/usage?billing_account_id=" + q(account) + "&group_by=feature_code&window_size=DAY&from=" + monthStart + "&to=" + nextMonth,
                "SELECT feature_code, date_trunc('day', window_start AT TIME ZONE 'UTC') AS day, " + fold + " AS billable_quantity, sum(quantity_sum) AS quantity_sum, sum(event_count) AS event_count"
                        + " FROM usage_rollups WHERE org_id = :org AND billing_account_id = :account AND window_size = 'HOUR'"
                        + " AND window_start >= :from AND window_start < :to GROUP BY 1, 2 ORDER BY 2, 1",
                Map.of("org", Tenants.DEFAULT, "account", account, "from", ts(monthStart), "to", ts(nextMonth))));
        timings.add(timing("top accounts of a feature, one day", runs,
                // every account in one page (the API's largest), as the SQL returns them all
                "/v1/usage?feature_code=" + q(feature) + "&group_by=billing_account_id&limit=10000&from=" + dayStart + "&to=" + dayStart.plus(Duration.ofDays(1)),
                "SELECT billing_account_id, " + fold + " AS billable_quantity, sum(quantity_sum) AS quantity_sum, sum(event_count) AS event_count FROM usage_rollups"
                        + " WHERE org_id = :org AND feature_code = :feature AND window_size = 'HOUR'"
                        + " AND window_start >= :from AND window_start < :to GROUP BY 1 ORDER BY 1",
                Map.of("org", Tenants.DEFAULT, "feature", feature, "from", ts(dayStart), "to", ts(dayStart.plus(Duration.ofDays(1))))));
        timings.add(timing("24-hour series, one account and feature", runs,
                "/v1/usage?billing_account_id=" + q(account) + "&feature_code=" + q(feature) + "&window_size=HOUR&from=" + dayAgo + "&to=" + hourEnd,
                "SELECT window_start, billable_quantity, quantity_sum, event_count FROM usage_rollups WHERE org_id = :org"
                        + " AND billing_account_id = :account AND feature_code = :feature AND window_size = 'HOUR'"
                        + " AND window_start >= :from AND window_start < :to ORDER BY window_start",
                Map.of("org", Tenants.DEFAULT, "account", account, "feature", feature, "from", ts(dayAgo), "to", ts(hourEnd))));
        timings.add(timing("current usage this month (entitlement check)", runs,
                "/v1/usage/current?billing_account_id=" + q(account) + "&feature_code=" + q(feature) + "&period=month",
                "SELECT feature_code, " + fold + " AS billable_quantity, sum(quantity_sum) AS quantity_sum, sum(event_count) AS event_count, (SELECT max(updated_at) FROM sink_offsets) AS as_of"
                        + " FROM usage_rollups WHERE org_id = :org AND billing_account_id = :account AND feature_code = :feature"
                        + " AND window_size = 'HOUR' AND window_start >= :from AND window_start < :to GROUP BY feature_code",
                Map.of("org", Tenants.DEFAULT, "account", account, "feature", feature, "from", ts(monthStart), "to", ts(nextMonth))));
        return timings;
    }

    private Timing timing(String question, int runs, String path, String sql, Map<String, Object> parameters) throws Exception {
        double[] api = new double[runs];
        double[] direct = new double[runs];
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + path)).header("X-Api-Key", key).GET().build();
        try (Handle handle = jdbi.open()) {
            for (int i = -2; i < runs; i++) { // two unmeasured runs each
                long start = System.nanoTime();
                HttpResponse<String> answer = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() != 200) {
                    throw new IllegalStateException("query API answered " + answer.statusCode() + " to " + path + ": " + answer.body());
                }
                long apiNanos = System.nanoTime() - start;
                start = System.nanoTime();
                handle.createQuery(sql).bindMap(parameters).mapToMap().list();
                long sqlNanos = System.nanoTime() - start;
                if (i >= 0) {
                    api[i] = apiNanos / 1e6;
                    direct[i] = sqlNanos / 1e6;
                }
            }
        }
        Arrays.sort(api);
        Arrays.sort(direct);
        return new Timing(question, runs, percentile(api, 0.5), percentile(api, 0.99), percentile(direct, 0.5), percentile(direct, 0.99));
    }

    private static Timestamp ts(Instant instant) {
        return Timestamp.from(instant);
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
