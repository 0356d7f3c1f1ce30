package dev.metering.query;

import static dev.metering.query.QueryFixture.KEY_ALL;
import static dev.metering.query.QueryFixture.KEY_DEFAULT;
import static dev.metering.query.QueryFixture.KEY_LIMITED;
import static dev.metering.query.QueryFixture.KEY_ORG_B;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metering.query.QueryFixture.Hour;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The query API on a real PostgreSQL with the sink's schema; each test writes its own accounts' hours. */
class QueryApiIT {
    private static final Instant NOW = Instant.parse("2025-10-26T10:30:00Z");
    private static QueryFixture fixture;

    @BeforeAll
    static void start() {
        fixture = new QueryFixture(Clock.fixed(NOW, ZoneOffset.UTC), 1000);
    }

    @AfterAll
    static void stop() {
        if (fixture != null) {
            fixture.close();
        }
    }

    private static Instant t(String text) {
        return Instant.parse(text);
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    private static JsonNode ok(String key, String pathAndQuery) {
        QueryFixture.Response response = fixture.get(key, pathAndQuery);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        return response.json();
    }

    private static List<String> column(JsonNode page, String field) {
        List<String> values = new ArrayList<>();
        page.get("data").forEach(row -> values.add(row.get(field).asText()));
        return values;
    }

    @Test
    void anAbsoluteOverridesTheEarlierUsageAndLaterDeltasAddToIt() {
        // DESIGN.md's example: absolute 10, then delta 2 in the same hour -> 12; delta 5 in a later hour -> 17 for the day.
        fixture.insert(List.of(
                Hour.delta("org-a", "mix-1", "seats", t("2025-03-10T02:00:00Z"), "4"),
                new Hour("org-a", "mix-1", "seats", t("2025-03-10T05:00:00Z"), 2, "2", "12", t("2025-03-10T05:10:00Z"), "2", "DELTA", "2", "10"),
                Hour.delta("org-a", "mix-1", "seats", t("2025-03-10T09:00:00Z"), "5"),
                Hour.delta("org-a", "mix-1", "calls", t("2025-03-10T09:00:00Z"), "3.250")));
        String range = "&from=2025-03-10T00:00:00Z&to=2025-03-11T00:00:00Z";

        JsonNode byFeature = ok(KEY_ALL, "/v1/usage?billing_account_id=mix-1&group_by=feature_code" + range);
        assertThat(byFeature.get("window_time_zone").asText()).as("the default zone, as documented").isEqualTo("UTC");
        assertThat(column(byFeature, "feature_code")).containsExactly("calls", "seats");
        assertThat(column(byFeature, "billable_quantity")).containsExactly("3.25", "17");
        JsonNode seats = byFeature.get("data").get(1);
        assertThat(seats.get("quantity_sum").asText()).isEqualTo("11");
        assertThat(seats.get("event_count").asLong()).isEqualTo(4);
        assertThat(seats.get("min_value").asText()).isEqualTo("2");
        assertThat(seats.get("max_value").asText()).isEqualTo("10");
        assertThat(seats.get("latest_value").asText()).isEqualTo("5");
        assertThat(seats.get("window_start").asText()).isEqualTo("2025-03-10T00:00:00Z");
        assertThat(seats.get("window_end").asText()).isEqualTo("2025-03-11T00:00:00Z");
        assertThat(seats.get("reverted_quantity").asText()).isEqualTo("0");

        // Hours: the ABSOLUTE hour bills its own running value.
        JsonNode hours = ok(KEY_ALL, "/v1/usage?billing_account_id=mix-1&feature_code=seats&window_size=HOUR" + range);
        assertThat(column(hours, "billable_quantity")).containsExactly("4", "12", "5");
        // A range that starts after the ABSOLUTE hour is the DELTA sum of its hours.
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=mix-1&feature_code=seats&from=2025-03-10T06:00:00Z&to=2025-03-10T10:00:00Z"),
                "billable_quantity")).containsExactly("5");
        // Ungrouped: the sum of the series' billable quantities (never a fold across features).
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=mix-1" + range), "billable_quantity")).containsExactly("20.25");

        // The API agrees with the sink's UTC view.
        assertThat(viewBillable("usage_daily", "mix-1", "seats")).isEqualByComparingTo("17");
        // A revert of 1.5 of the 09:00 usage, as the sink stores it: sums net of it, the reverted quantity next to them.
        fixture.execute("UPDATE usage_rollups SET quantity_sum = 3.5, billable_quantity = 3.5, reverted_quantity = 1.5, revert_count = 1 "
                + "WHERE org_id = 'org-a' AND billing_account_id = 'mix-1' AND feature_code = 'seats' AND window_start = '2025-03-10T09:00:00Z'");
        JsonNode reverted = ok(KEY_ALL, "/v1/usage?billing_account_id=mix-1&feature_code=seats" + range).get("data").get(0);
        assertThat(reverted.get("billable_quantity").asText()).isEqualTo("15.5");
        assertThat(reverted.get("reverted_quantity").asText()).isEqualTo("1.5");
    }

    private static BigDecimal viewBillable(String view, String account, String feature) {
        try (var connection = fixture.database.dataSource().getConnection();
             var statement = connection.prepareStatement("SELECT billable_quantity FROM " + view + " WHERE org_id = 'org-a' AND billing_account_id = ? AND feature_code = ?")) {
            statement.setString(1, account);
            statement.setString(2, feature);
            try (var rs = statement.executeQuery()) {
                rs.next();
                return rs.getBigDecimal(1);
            }
        } catch (java.sql.SQLException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void berlinDaysAcrossTheEndOfSummerTimeHaveTwentyFiveHours() {
        // One event per UTC hour from 2025-10-24T22:00Z (Berlin's 25th, 00:00) to 2025-10-27T23:00Z (Berlin's 28th, 00:00).
        List<Hour> hours = new ArrayList<>();
        for (Instant hour = t("2025-10-24T22:00:00Z"); hour.isBefore(t("2025-10-27T23:00:00Z")); hour = hour.plusSeconds(3600)) {
            hours.add(Hour.delta("org-a", "dst-1", "calls", hour, "1"));
        }
        fixture.insert(hours);
        JsonNode days = ok(KEY_ALL, "/v1/usage?billing_account_id=dst-1&window_size=DAY&window_time_zone=Europe/Berlin"
                + "&from=" + q("2025-10-25T00:00:00+02:00") + "&to=" + q("2025-10-28T00:00:00+01:00"));
        assertThat(column(days, "window_start")).containsExactly("2025-10-25T00:00:00+02:00", "2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00");
        assertThat(column(days, "window_end")).containsExactly("2025-10-26T00:00:00+02:00", "2025-10-27T00:00:00+01:00", "2025-10-28T00:00:00+01:00");
        assertThat(column(days, "billable_quantity")).containsExactly("24", "25", "24");
        assertThat(days.get("window_time_zone").asText()).isEqualTo("Europe/Berlin");

        // The same hours in UTC days: 2 + 24 + 24 + 23.
        JsonNode utc = ok(KEY_ALL, "/v1/usage?billing_account_id=dst-1&window_size=DAY&from=2025-10-24T00:00:00Z&to=2025-10-28T00:00:00Z");
        assertThat(column(utc, "billable_quantity")).containsExactly("2", "24", "24", "23");

        // A Berlin DAY must start at a Berlin midnight.
        QueryFixture.Response misaligned = fixture.get(KEY_ALL, "/v1/usage?billing_account_id=dst-1&window_size=DAY&window_time_zone=Europe/Berlin"
                + "&from=2025-10-25T00:00:00Z&to=2025-10-28T00:00:00Z");
        assertThat(misaligned.status()).isEqualTo(400);
        assertThat(misaligned.json().get("message").asText()).contains("from", "Europe/Berlin", "2025-10-25T00:00:00+02:00");
    }

    @Test
    void monthsEndAtTheZonesMonthBoundaries() {
        fixture.insert(List.of(
                Hour.delta("org-a", "month-1", "gb", t("2025-01-31T22:00:00Z"), "1"), // Berlin: Jan 31st, 23:00
                Hour.delta("org-a", "month-1", "gb", t("2025-01-31T23:00:00Z"), "10"), // Berlin: Feb 1st, 00:00
                Hour.absolute("org-a", "month-1", "gb", t("2025-02-28T23:00:00Z"), "7"), // Berlin: Mar 1st
                Hour.delta("org-a", "month-1", "gb", t("2025-02-15T12:00:00Z"), "100")));
        JsonNode utc = ok(KEY_ALL, "/v1/usage?billing_account_id=month-1&window_size=MONTH&from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:00Z");
        assertThat(column(utc, "window_start")).containsExactly("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z");
        assertThat(column(utc, "billable_quantity")).containsExactly("11", "7"); // Feb: the ABSOLUTE at its last hour overrides the 100
        JsonNode berlin = ok(KEY_ALL, "/v1/usage?billing_account_id=month-1&window_size=MONTH&window_time_zone=Europe/Berlin"
                + "&from=" + q("2025-01-01T00:00:00+01:00") + "&to=" + q("2025-04-01T00:00:00+02:00"));
        assertThat(column(berlin, "window_start")).containsExactly("2025-01-01T00:00:00+01:00", "2025-02-01T00:00:00+01:00", "2025-03-01T00:00:00+01:00");
        assertThat(column(berlin, "window_end")).containsExactly("2025-02-01T00:00:00+01:00", "2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+02:00");
        assertThat(column(berlin, "billable_quantity")).containsExactly("1", "110", "7");
        // One total over the whole range: the ABSOLUTE is the latest, so it alone is billed.
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=month-1&from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:00Z"), "billable_quantity"))
                .containsExactly("7");
        assertThat(viewBillable("usage_monthly", "month-1", "gb")).isNotNull();
    }

    @Test
    void filtersAndGroupingsSelectAndSplitTheRows() {
        Instant hour = t("2025-05-01T10:00:00Z");
        fixture.insert(List.of(
                Hour.delta("org-a", "grp-1", "calls", hour, "1"),
                Hour.delta("org-a", "grp-1", "storage", hour, "2"),
                Hour.delta("org-a", "grp-2", "calls", hour, "4"),
                Hour.delta("org-a", "grp-3", "calls", hour, "8"),
                Hour.delta("org-b", "grp-1", "calls", hour, "1000"),
                Hour.delta("default", "grp-1", "calls", hour, "5000")));
        String range = "&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z";
        String accounts = "billing_account_id=grp-1&billing_account_id=grp-2&billing_account_id=grp-3";
        assertThat(column(ok(KEY_ALL, "/v1/usage?" + accounts + range), "billable_quantity")).containsExactly("15");
        assertThat(column(ok(KEY_ALL, "/v1/usage?" + accounts + "&feature_code=calls" + range), "billable_quantity")).containsExactly("13");
        assertThat(column(ok(KEY_ALL, "/v1/usage?" + accounts + "&feature_code=storage&feature_code=none" + range), "billable_quantity")).containsExactly("2");
        JsonNode byAccount = ok(KEY_ALL, "/v1/usage?" + accounts + "&group_by=billing_account_id" + range);
        assertThat(column(byAccount, "billing_account_id")).containsExactly("grp-1", "grp-2", "grp-3");
        assertThat(column(byAccount, "billable_quantity")).containsExactly("3", "4", "8");
        assertThat(byAccount.get("data").get(0).has("feature_code")).isFalse();
        JsonNode both = ok(KEY_ALL, "/v1/usage?" + accounts + "&group_by=billing_account_id,feature_code" + range);
        assertThat(column(both, "feature_code")).containsExactly("calls", "storage", "calls", "calls");
        assertThat(column(both, "billable_quantity")).containsExactly("1", "2", "4", "8");
        // "top accounts for a feature over a day": no account filter, every account of the tenant.
        JsonNode top = ok(KEY_ALL, "/v1/usage?feature_code=calls&group_by=billing_account_id" + range);
        assertThat(column(top, "billing_account_id")).containsExactly("grp-1", "grp-2", "grp-3");
        // Each tenant sees its own rows only.
        assertThat(column(ok(KEY_ORG_B, "/v1/usage?billing_account_id=grp-1" + range), "billable_quantity")).containsExactly("1000");
        assertThat(column(ok(KEY_DEFAULT, "/v1/usage?billing_account_id=grp-1" + range), "billable_quantity")).containsExactly("5000");
        // No usage in the range: no rows.
        assertThat(ok(KEY_ALL, "/v1/usage?" + accounts + "&from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z").get("data")).isEmpty();
    }

    @Test
    void identifiersAreMatchedInTheirNormalForm() {
        fixture.insert(List.of(Hour.delta("org-a", "caf\u00e9", "calls", t("2025-05-03T10:00:00Z"), "3")));
        // "café" with a combining accent is the same account as with the precomposed é.
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=" + q("cafe\u0301") + "&from=2025-05-03T00:00:00Z&to=2025-05-04T00:00:00Z"),
                "billable_quantity")).containsExactly("3");
    }

    @Test
    void csvHasAHeaderRowAndTheSameFigures() {
        fixture.insert(List.of(
                Hour.delta("org-a", "csv,1", "calls", t("2025-05-05T10:00:00Z"), "1.5"),
                Hour.delta("org-a", "csv\"2", "calls", t("2025-05-05T11:00:00Z"), "2")));
        QueryFixture.Response response = fixture.get(KEY_ALL, "/v1/usage?billing_account_id=" + q("csv,1") + "&billing_account_id=" + q("csv\"2")
                + "&group_by=billing_account_id&window_size=DAY&from=2025-05-05T00:00:00Z&to=2025-05-06T00:00:00Z", "Accept", "text/csv");
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.contentType()).startsWith("text/csv");
        assertThat(response.body().split("\r\n")).containsExactly(
                "window_start,window_end,billing_account_id,billable_quantity,quantity_sum,reverted_quantity,event_count,min_value,max_value,latest_value,latest_value_type,latest_event_time",
                "2025-05-05T00:00:00Z,2025-05-06T00:00:00Z,\"csv\"\"2\",2,2,0,1,2,2,2,DELTA,2025-05-05T11:50:00Z",
                "2025-05-05T00:00:00Z,2025-05-06T00:00:00Z,\"csv,1\",1.5,1.5,0,1,1.5,1.5,1.5,DELTA,2025-05-05T10:50:00Z");
    }

    @Test
    void csvHasTheRevertedQuantityLikeTheJson() {
        fixture.insert(List.of(
                Hour.delta("org-a", "csv-rev", "calls", t("2025-05-06T10:00:00Z"), "4"),
                Hour.delta("org-a", "csv-rev", "calls", t("2025-05-06T11:00:00Z"), "2"),
                Hour.delta("org-a", "csv-rev", "seats", t("2025-05-06T11:00:00Z"), "7")));
        // Reverts of 0.25 and 1.5 as the sink stores them: sums net of them, the reverted quantity next to them.
        fixture.execute("UPDATE usage_rollups SET quantity_sum = quantity_sum - 0.25, billable_quantity = billable_quantity - 0.25, "
                + "reverted_quantity = 0.25, revert_count = 1 WHERE org_id = 'org-a' AND billing_account_id = 'csv-rev' AND window_start = '2025-05-06T10:00:00Z'");
        fixture.execute("UPDATE usage_rollups SET quantity_sum = quantity_sum - 1.5, billable_quantity = billable_quantity - 1.5, "
                + "reverted_quantity = 1.5, revert_count = 2 WHERE org_id = 'org-a' AND billing_account_id = 'csv-rev' AND feature_code = 'calls' "
                + "AND window_start = '2025-05-06T11:00:00Z'");
        String path = "/v1/usage?billing_account_id=csv-rev&group_by=feature_code&window_size=DAY&from=2025-05-06T00:00:00Z&to=2025-05-07T00:00:00Z";
        QueryFixture.Response response = fixture.get(KEY_ALL, path, "Accept", "text/csv");
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        String[] lines = response.body().split("\r\n");
        assertThat(lines).containsExactly(
                "window_start,window_end,feature_code,billable_quantity,quantity_sum,reverted_quantity,event_count,min_value,max_value,latest_value,latest_value_type,latest_event_time",
                "2025-05-06T00:00:00Z,2025-05-07T00:00:00Z,calls,4.25,4.25,1.75,2,2,4,2,DELTA,2025-05-06T11:50:00Z",
                "2025-05-06T00:00:00Z,2025-05-07T00:00:00Z,seats,7,7,0,1,7,7,7,DELTA,2025-05-06T11:50:00Z");
        // The same figures as the JSON rows, column by column.
        JsonNode data = ok(KEY_ALL, path).get("data");
        List<String> header = List.of(lines[0].split(","));
        for (int row = 0; row < data.size(); row++) {
            List<String> fields = List.of(lines[row + 1].split(","));
            for (String column : List.of("feature_code", "billable_quantity", "quantity_sum", "reverted_quantity", "event_count", "latest_value")) {
                assertThat(fields.get(header.indexOf(column))).as(column).isEqualTo(data.get(row).get(column).asText());
            }
        }
    }

    @Test
    void pagesNeitherDropNorRepeatARow() {
        Random random = new Random(7);
        List<Hour> hours = new ArrayList<>();
        for (int a = 0; a < 9; a++) {
            for (String feature : List.of("f-a", "f-b", "F-c")) {
                for (int h = 0; h < 72; h++) {
                    if (random.nextInt(3) > 0) {
                        hours.add(Hour.delta("org-a", "page-" + a, feature, t("2025-06-01T00:00:00Z").plusSeconds(3600L * h), Integer.toString(random.nextInt(50))));
                    }
                }
            }
        }
        fixture.insert(hours);
        refreshPeriods(); // so that the UTC days come from the day rows
        String base = "/v1/usage?feature_code=f-a&feature_code=f-b&feature_code=F-c&from=2025-06-01T00:00:00Z&to=2025-06-04T00:00:00Z";
        // UTC days and the total between UTC midnights come from the day rows, hours from the hours.
        for (String shape : List.of("&window_size=HOUR&group_by=billing_account_id&group_by=feature_code", "&window_size=DAY&group_by=feature_code",
                "&window_size=DAY&group_by=billing_account_id&group_by=feature_code",
                "&window_size=HOUR", "&group_by=billing_account_id")) {
            List<String> all = rows(ok(KEY_ALL, base + shape + "&limit=10000"));
            List<String> paged = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                JsonNode page = ok(KEY_ALL, base + shape + "&limit=7" + (cursor == null ? "" : "&cursor=" + cursor));
                paged.addAll(rows(page));
                cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
                pages++;
            } while (cursor != null && pages < 1000);
            assertThat(paged).as(shape).containsExactlyElementsOf(all);
            assertThat(new HashSet<>(paged)).as(shape).hasSize(paged.size());
            assertThat(pages).as(shape).isEqualTo((all.size() + 6) / 7);
        }
        // A cursor only continues the query that returned it.
        JsonNode first = ok(KEY_ALL, base + "&window_size=HOUR&limit=5");
        QueryFixture.Response other = fixture.get(KEY_ALL, base + "&window_size=DAY&limit=5&cursor=" + first.get("next_cursor").asText());
        assertThat(other.status()).isEqualTo(400);
        assertThat(other.json().get("message").asText()).contains("cursor");
    }

    private static List<String> rows(JsonNode page) {
        List<String> rows = new ArrayList<>();
        page.get("data").forEach(row -> rows.add(row.toString()));
        return rows;
    }

    /** Events in acceptance order; hours computed by the hour rule, periods by the period rule of DESIGN.md, independently of SQL. */
    @Test
    void answersEqualARecomputationFromRandomEvents() {
        Random random = new Random(42);
        record Event(String account, String feature, Instant time, boolean absolute, BigDecimal quantity) {
        }
        List<Event> events = new ArrayList<>();
        Instant start = t("2025-10-20T00:00:00Z");
        for (int i = 0; i < 3000; i++) {
            String account = "rnd-" + random.nextInt(4);
            String feature = random.nextBoolean() ? "seats" : "calls";
            Instant time = start.plusSeconds(random.nextInt(14 * 24 * 3600));
            boolean absolute = feature.equals("seats") && random.nextInt(10) == 0;
            events.add(new Event(account, feature, time, absolute, BigDecimal.valueOf(random.nextInt(100_000), random.nextInt(4))));
        }
        // Hours: in acceptance order, an ABSOLUTE sets the running value unless a later-stamped one was applied; a DELTA adds.
        record Key(String account, String feature, Instant hour) {
        }
        class HourState {
            BigDecimal billable = BigDecimal.ZERO;
            BigDecimal sum = BigDecimal.ZERO;
            Instant latestAbsolute;
            long count;
            BigDecimal min;
            BigDecimal max;
        }
        Map<Key, HourState> states = new LinkedHashMap<>();
        for (Event event : events) {
            HourState state = states.computeIfAbsent(new Key(event.account(), event.feature(), event.time().truncatedTo(java.time.temporal.ChronoUnit.HOURS)),
                    k -> new HourState());
            state.count++;
            state.min = state.min == null ? event.quantity() : state.min.min(event.quantity());
            state.max = state.max == null ? event.quantity() : state.max.max(event.quantity());
            if (event.absolute()) {
                if (state.latestAbsolute == null || !state.latestAbsolute.isAfter(event.time())) {
                    state.billable = event.quantity();
                    state.latestAbsolute = event.time();
                }
            } else {
                state.billable = state.billable.add(event.quantity());
                state.sum = state.sum.add(event.quantity());
            }
        }
        List<Hour> rows = new ArrayList<>();
        states.forEach((key, state) -> rows.add(new Hour("org-a", key.account(), key.feature(), key.hour(), state.count, state.sum.toPlainString(),
                state.billable.toPlainString(), state.latestAbsolute, state.max.toPlainString(), "DELTA", state.min.toPlainString(), state.max.toPlainString())));
        fixture.insert(rows);

        // Expected per day of a zone and feature/account: the latest hour with an ABSOLUTE bills its value, plus the later hours' DELTA sums.
        java.util.function.Function<ZoneId, Map<String, BigDecimal>> perDay = zone -> {
            Map<String, BigDecimal> perPeriod = new TreeMap<>();
            Map<String, List<Map.Entry<Key, HourState>>> byPeriod = new TreeMap<>();
            states.entrySet().forEach(entry -> {
                LocalDate day = entry.getKey().hour().atZone(zone).toLocalDate();
                byPeriod.computeIfAbsent(day + "|" + entry.getKey().account() + "|" + entry.getKey().feature(), k -> new ArrayList<>()).add(entry);
            });
            byPeriod.forEach((period, hoursOfPeriod) -> {
                hoursOfPeriod.sort(java.util.Comparator.comparing(e -> e.getKey().hour()));
                int lastAbsolute = -1;
                for (int i = 0; i < hoursOfPeriod.size(); i++) {
                    if (hoursOfPeriod.get(i).getValue().latestAbsolute != null) {
                        lastAbsolute = i;
                    }
                }
                BigDecimal total = lastAbsolute < 0 ? BigDecimal.ZERO : hoursOfPeriod.get(lastAbsolute).getValue().billable;
                for (int i = lastAbsolute + 1; i < hoursOfPeriod.size(); i++) {
                    total = total.add(hoursOfPeriod.get(i).getValue().billable);
                }
                perPeriod.put(period, total);
            });
            return perPeriod;
        };
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        Map<String, BigDecimal> expected = perDay.apply(berlin);

        Map<String, BigDecimal> actual = new TreeMap<>();
        JsonNode page = ok(KEY_ALL, "/v1/usage?billing_account_id=rnd-0&billing_account_id=rnd-1&billing_account_id=rnd-2&billing_account_id=rnd-3&group_by=billing_account_id&group_by=feature_code"
                + "&window_size=DAY&window_time_zone=Europe/Berlin&limit=10000&from=" + q("2025-10-20T00:00:00+02:00") + "&to=" + q("2025-11-04T00:00:00+01:00"));
        page.get("data").forEach(row -> actual.put(LocalDate.parse(row.get("window_start").asText().substring(0, 10)) + "|"
                + row.get("billing_account_id").asText() + "|" + row.get("feature_code").asText(), new BigDecimal(row.get("billable_quantity").asText())));
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((period, value) -> assertThat(actual.get(period)).as(period).isEqualByComparingTo(value));
        assertThat(expected.values().stream().filter(v -> v.signum() > 0)).isNotEmpty();

        // Rows of several series (all accounts per feature) sum the series' folds; so do rows of one series picked by the
        // filters rather than by group_by (the statement composes these two shapes differently).
        Map<String, BigDecimal> perFeature = new TreeMap<>();
        Map<String, BigDecimal> ofOneAccount = new TreeMap<>();
        expected.forEach((period, value) -> {
            String[] parts = period.split("\\|");
            perFeature.merge(parts[0] + "|" + parts[2], value, BigDecimal::add);
            if (parts[1].equals("rnd-2")) {
                ofOneAccount.put(parts[0] + "|" + parts[2], value);
            }
        });
        String berlinRange = "&window_size=DAY&window_time_zone=Europe/Berlin&limit=10000&from=" + q("2025-10-20T00:00:00+02:00") + "&to="
                + q("2025-11-04T00:00:00+01:00");
        for (Map.Entry<String, Map<String, BigDecimal>> shape : Map.of(
                "/v1/usage?billing_account_id=rnd-0&billing_account_id=rnd-1&billing_account_id=rnd-2&billing_account_id=rnd-3&group_by=feature_code", perFeature,
                "/v1/usage?billing_account_id=rnd-2&group_by=feature_code", ofOneAccount).entrySet()) {
            Map<String, BigDecimal> answered = new TreeMap<>();
            ok(KEY_ALL, shape.getKey() + berlinRange).get("data").forEach(row -> answered.put(LocalDate.parse(row.get("window_start").asText().substring(0, 10))
                    + "|" + row.get("feature_code").asText(), new BigDecimal(row.get("billable_quantity").asText())));
            assertThat(answered.keySet()).as(shape.getKey()).containsExactlyElementsOf(shape.getValue().keySet());
            shape.getValue().forEach((period, value) -> assertThat(answered.get(period)).as(shape.getKey() + " " + period).isEqualByComparingTo(value));
        }

        // Whole UTC days are answered from the hours while a day is stale and from the day rows (usage_daily) once the
        // sink's refresh has written them: the same figures.
        Map<String, BigDecimal> expectedUtc = perDay.apply(ZoneOffset.UTC);
        String rndSeries = "/v1/usage?billing_account_id=rnd-0&billing_account_id=rnd-1&billing_account_id=rnd-2&billing_account_id=rnd-3"
                + "&group_by=billing_account_id&group_by=feature_code&limit=10000";
        for (boolean refreshed : new boolean[] {false, true}) {
            if (refreshed) {
                assertThat(refreshPeriods()).as("days re-folded into usage_daily_rollups").isPositive();
            }
            Map<String, BigDecimal> utcDays = new TreeMap<>();
            ok(KEY_ALL, rndSeries + "&window_size=DAY&window_time_zone=UTC&from=2025-10-20T00:00:00Z&to=2025-11-04T00:00:00Z").get("data")
                    .forEach(row -> utcDays.put(row.get("window_start").asText().substring(0, 10) + "|" + row.get("billing_account_id").asText()
                            + "|" + row.get("feature_code").asText(), new BigDecimal(row.get("billable_quantity").asText())));
            assertThat(utcDays.keySet()).as("refreshed: " + refreshed).containsExactlyElementsOf(expectedUtc.keySet());
            expectedUtc.forEach((period, value) -> assertThat(utcDays.get(period)).as(period + ", refreshed: " + refreshed).isEqualByComparingTo(value));
            // London's days after summer time are UTC days too, composed from the hours (not UTC by name): every column equal.
            String winter = "&window_size=DAY&from=2025-10-27T00:00:00Z&to=2025-11-03T00:00:00Z";
            assertThat(rows(ok(KEY_ALL, rndSeries + winter + "&window_time_zone=UTC")))
                    .isEqualTo(rows(ok(KEY_ALL, rndSeries + winter + "&window_time_zone=Europe/London")).stream().map(row -> row.replace("+00:00", "Z")).toList())
                    .hasSizeGreaterThan(20);
            everyShapeEqualsTheAggregateOfTheHours();
        }
    }

    /** Every shape equals the schema's metering_billable aggregate per series, summed over the series of a row. */
    private static void everyShapeEqualsTheAggregateOfTheHours() {
        String range = "&from=2025-10-20T00:00:00Z&to=2025-11-03T00:00:00Z&limit=10000";
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=rnd-1&feature_code=seats" + range), "billable_quantity"))
                .containsExactly(aggregate("billing_account_id = 'rnd-1' AND feature_code = 'seats'", "").get(0));
        assertThat(column(ok(KEY_ALL, "/v1/usage?feature_code=seats&billing_account_id=rnd-0&billing_account_id=rnd-1&billing_account_id=rnd-2&billing_account_id=rnd-3"
                + range), "billable_quantity")).containsExactly(aggregate("feature_code = 'seats'", "").get(0));
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=rnd-0&billing_account_id=rnd-1&billing_account_id=rnd-2&billing_account_id=rnd-3"
                + "&group_by=billing_account_id" + range), "billable_quantity")).containsExactlyElementsOf(aggregate("true", "billing_account_id"));
        assertThat(column(ok(KEY_ALL, "/v1/usage?billing_account_id=rnd-3&window_size=MONTH" + range.replace("2025-11-03", "2025-12-01")
                .replace("2025-10-20", "2025-10-01")), "billable_quantity")).containsExactlyElementsOf(aggregate("billing_account_id = 'rnd-3'",
                "date_trunc('month', window_start AT TIME ZONE 'UTC')"));
    }

    /** The sink's period refresh, as an operator runs it by hand: every stale day into usage_daily_rollups; how many days. */
    private static long refreshPeriods() {
        long total = 0;
        try (var connection = fixture.database.dataSource().getConnection(); var statement = connection.createStatement()) {
            for (int done = 1; done > 0; total += done) {
                try (var result = statement.executeQuery("SELECT metering_refresh_periods(10000, interval '0')")) {
                    result.next();
                    done = result.getInt(1);
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return total;
    }

    /** The billable quantities of the rnd-* hours: metering_billable per series (and group), summed per group, in group order. */
    private static List<String> aggregate(String condition, String group) {
        String key = group.isEmpty() ? "" : group + " AS g, ";
        String sql = "SELECT sum(b) AS b FROM (SELECT " + key + "metering_billable(latest_absolute_event_time IS NOT NULL, billable_quantity ORDER BY window_start) AS b"
                + " FROM usage_rollups WHERE org_id = 'org-a' AND billing_account_id LIKE 'rnd-%' AND " + condition
                + " GROUP BY " + (group.isEmpty() ? "" : "g, ") + "billing_account_id, feature_code) s" + (group.isEmpty() ? "" : " GROUP BY g ORDER BY g");
        List<String> values = new ArrayList<>();
        try (var connection = fixture.database.dataSource().getConnection(); var statement = connection.createStatement();
             var result = statement.executeQuery(sql)) {
            while (result.next()) {
                values.add(UsageEndpoints.decimal(result.getBigDecimal("b")));
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return values;
    }

    @Test
    void aLimitedKeyReadsItsAccountsOnly() {
        Instant hour = t("2025-05-07T10:00:00Z");
        fixture.insert(List.of(Hour.delta("org-a", "acct-1", "calls", hour, "1"), Hour.delta("org-a", "acct-2", "calls", hour, "2"),
                Hour.delta("org-a", "acct-3", "calls", hour, "4")));
        String range = "&from=2025-05-07T00:00:00Z&to=2025-05-08T00:00:00Z";
        assertThat(column(ok(KEY_LIMITED, "/v1/usage?group_by=billing_account_id" + range), "billing_account_id")).containsExactly("acct-1", "acct-2");
        assertThat(column(ok(KEY_LIMITED, "/v1/usage?billing_account_id=acct-2" + range), "billable_quantity")).containsExactly("2");
        for (String path : List.of("/v1/usage?billing_account_id=acct-1&billing_account_id=acct-3" + range,
                "/v1/usage/current?billing_account_id=acct-3")) {
            QueryFixture.Response denied = fixture.get(KEY_LIMITED, path);
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.json().get("code").asText()).isEqualTo("PERMISSION_DENIED");
            assertThat(denied.json().get("message").asText()).contains("acct-3");
        }
        QueryFixture.Response anonymous = fixture.get(null, "/v1/usage?billing_account_id=acct-1" + range);
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.json().get("code").asText()).isEqualTo("UNAUTHENTICATED");
        assertThat(fixture.get("wrong-key", "/v1/usage?billing_account_id=acct-1" + range).status()).isEqualTo(401);
        // The same account id in another tenant is another account.
        assertThat(ok(KEY_ORG_B, "/v1/usage?billing_account_id=acct-1" + range).get("data")).isEmpty();
    }

    @Test
    void currentUsageIsTheBillableQuantityOfTheCurrentPeriod() {
        // NOW = 2025-10-26T10:30Z (Berlin: 11:30 on the day summer time ends).
        fixture.insert(List.of(
                Hour.delta("org-a", "cur-1", "calls", t("2025-09-30T23:00:00Z"), "1000"), // September in UTC, October in Berlin
                Hour.delta("org-a", "cur-1", "calls", t("2025-10-01T05:00:00Z"), "10"),
                Hour.delta("org-a", "cur-1", "calls", t("2025-10-25T22:00:00Z"), "3"), // Berlin: Oct 26th 00:00; UTC: Oct 25th
                Hour.delta("org-a", "cur-1", "calls", t("2025-10-26T09:00:00Z"), "4"),
                Hour.absolute("org-a", "cur-1", "seats", t("2025-10-02T00:00:00Z"), "5"),
                Hour.delta("org-a", "cur-1", "seats", t("2025-10-26T01:00:00Z"), "2")));
        fixture.execute("INSERT INTO sink_offsets (consumer_group, topic, partition, next_offset, updated_at) VALUES ('metering-sink', 'usage-rollups', 0, 42, '2025-10-26T10:29:58Z')");

        JsonNode month = ok(KEY_ALL, "/v1/usage/current?billing_account_id=cur-1");
        assertThat(month.get("period").asText()).isEqualTo("month");
        assertThat(month.get("period_start").asText()).isEqualTo("2025-10-01T00:00:00Z");
        assertThat(month.get("period_end").asText()).isEqualTo("2025-11-01T00:00:00Z");
        assertThat(month.get("as_of").asText()).isEqualTo("2025-10-26T10:29:58Z");
        assertThat(column(month, "feature_code")).containsExactly("calls", "seats");
        assertThat(column(month, "billable_quantity")).containsExactly("17", "7");

        JsonNode berlinMonth = ok(KEY_ALL, "/v1/usage/current?billing_account_id=cur-1&feature_code=calls&period=month&window_time_zone=Europe/Berlin");
        assertThat(berlinMonth.get("period_start").asText()).isEqualTo("2025-10-01T00:00:00+02:00");
        assertThat(column(berlinMonth, "billable_quantity")).containsExactly("1017");

        JsonNode utcDay = ok(KEY_ALL, "/v1/usage/current?billing_account_id=cur-1&feature_code=calls&period=day");
        assertThat(column(utcDay, "billable_quantity")).containsExactly("4");
        JsonNode berlinDay = ok(KEY_ALL, "/v1/usage/current?billing_account_id=cur-1&feature_code=calls&period=day&window_time_zone=Europe/Berlin");
        assertThat(berlinDay.get("period_start").asText()).isEqualTo("2025-10-26T00:00:00+02:00");
        assertThat(berlinDay.get("period_end").asText()).isEqualTo("2025-10-27T00:00:00+01:00");
        assertThat(column(berlinDay, "billable_quantity")).containsExactly("7");

        // A feature without usage answers zero rather than nothing.
        JsonNode none = ok(KEY_ALL, "/v1/usage/current?billing_account_id=cur-1&feature_code=unused");
        assertThat(column(none, "billable_quantity")).containsExactly("0");
        assertThat(none.get("data").get(0).get("event_count").asLong()).isZero();
    }

    @Test
    void badParametersGetA400NamingTheParameter() {
        String range = "&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z";
        String manyAccounts = String.join("&", java.util.stream.IntStream.range(0, 101).mapToObj(i -> "billing_account_id=a" + i).toList());
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("/v1/usage?billing_account_id=x&colour=red" + range, "colour");
        cases.put("/v1/usage?billing_account_id=x&from=yesterday&to=2025-05-02T00:00:00Z", "from");
        cases.put("/v1/usage?billing_account_id=x&from=2025-05-01T00:00:00Z", "to");
        cases.put("/v1/usage?billing_account_id=x&from=2025-05-02T00:00:00Z&to=2025-05-01T00:00:00Z", "from");
        cases.put("/v1/usage?billing_account_id=x&from=2025-05-02T00:00:00Z&to=2025-05-02T00:00:00Z", "from");
        cases.put("/v1/usage?billing_account_id=x&from=2025-05-01T00:30:00Z&to=2025-05-02T00:00:00Z", "from");
        cases.put("/v1/usage?billing_account_id=x&from=2020-01-01T00:00:00Z&to=2025-05-02T00:00:00Z", "range");
        cases.put("/v1/usage?" + manyAccounts + range, "billing_account_id");
        cases.put("/v1/usage?billing_account_id=x&window_size=WEEK" + range, "window_size");
        cases.put("/v1/usage?billing_account_id=x&window_size=DAY&window_time_zone=Mars/Olympus" + range, "window_time_zone");
        cases.put("/v1/usage?billing_account_id=x&window_size=DAY&window_time_zone=Asia/Kolkata&from=" + q("2025-05-01T00:00:00+05:30")
                + "&to=" + q("2025-05-02T00:00:00+05:30"), "Asia/Kolkata");
        cases.put("/v1/usage?billing_account_id=x&window_size=HOUR&window_time_zone=Australia/Adelaide" + range, "Australia/Adelaide");
        cases.put("/v1/usage?billing_account_id=x&group_by=org_id" + range, "group_by");
        cases.put("/v1/usage?billing_account_id=x&limit=0" + range, "limit");
        cases.put("/v1/usage?billing_account_id=x&cursor=bm90LWEtY3Vyc29y" + range, "cursor");
        cases.put("/v1/usage?billing_account_id=x&from=2025-05-01T00:00:00Z&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z", "from");
        cases.put("/v1/usage?billing_account_id=%00" + range, "billing_account_id");
        cases.put("/v1/usage?billing_account_id=%E2%28%A1" + range, "billing_account_id");
        cases.put("/v1/usage?billing_account_id=x%zz" + range, "billing_account_id");
        cases.put("/v1/usage/current", "billing_account_id");
        cases.put("/v1/usage/current?billing_account_id=x&period=week", "period");
        cases.put("/v1/usage/current?billing_account_id=x&window_time_zone=Asia/Kathmandu", "Asia/Kathmandu");
        cases.forEach((path, named) -> {
            QueryFixture.Response response = fixture.get(KEY_ALL, path);
            assertThat(response.status()).as(path + " -> " + response.body()).isEqualTo(400);
            assertThat(response.json().get("code").asText()).isEqualTo("INVALID_ARGUMENT");
            assertThat(response.json().get("message").asText()).as(path).contains(named);
        });
    }

    @Test
    void operationsEndpointsAndTheOpenApiDocumentAnswer() {
        assertThat(fixture.get(null, "/health/live").status()).isEqualTo(200);
        assertThat(fixture.get(null, "/health/ready").status()).isEqualTo(200);
        ok(KEY_ALL, "/v1/usage?billing_account_id=x&from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z");
        assertThat(fixture.get(null, "/metrics").body()).contains("query_requests_seconds_count", "hikaricp_connections");
        JsonNode openApi = fixture.get(null, "/openapi.json").json();
        assertThat(openApi.get("paths").has("/v1/usage")).isTrue();
        assertThat(openApi.get("paths").has("/v1/usage/current")).isTrue();
        QueryFixture.Response unknown = fixture.get(KEY_ALL, "/v1/nothing");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("code").asText()).isEqualTo("NOT_FOUND");
    }

    @Test
    void theServiceRefusesARoleThatCouldWriteAndItsRoleCannotWrite() {
        QueryApiConfig owner = QueryApiConfig.defaults(fixture.database.jdbcUrl(), fixture.database.username(),
                fixture.database.password().isEmpty() ? null : fixture.database.password(), QueryFixture.KEYS).withHttp("127.0.0.1", 0);
        assertThatThrownBy(() -> new QueryApi(owner, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).start())
                .hasMessageContaining("read-only role");
        try (var connection = java.sql.DriverManager.getConnection(fixture.urlWithoutCredentials(), fixture.role, fixture.rolePassword);
             var statement = connection.createStatement()) {
            assertThatThrownBy(() -> statement.execute("DELETE FROM usage_rollups")).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> statement.execute("UPDATE sink_offsets SET next_offset = 0")).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> statement.execute("CREATE TABLE mine (x int)")).hasMessageContaining("permission denied");
        } catch (java.sql.SQLException e) {
            throw new AssertionError(e);
        }
    }
}
