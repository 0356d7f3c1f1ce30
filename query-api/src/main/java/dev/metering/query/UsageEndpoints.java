package dev.metering.query;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metering.ops.auth.ApiKeyAuthenticator;
import dev.metering.ops.http.ApiException;
import dev.metering.ops.http.ErrorKind;
import dev.metering.schemas.rules.EventTimes;
import dev.metering.schemas.rules.Identifiers;
import dev.metering.schemas.rules.RuleViolation;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/** {@code GET /v1/usage} and {@code GET /v1/usage/current}: validation, access, and the JSON and CSV answers. */
final class UsageEndpoints {
    static final String USAGE_PATH = "/v1/usage";
    static final String CURRENT_PATH = "/v1/usage/current";
    static final String ACCOUNT = "billing_account_id";
    static final String FEATURE = "feature_code";
    private static final Set<String> USAGE_PARAMETERS = Set.of(ACCOUNT, FEATURE, "from", "to", "window_size", "window_time_zone", "group_by",
            "limit", "cursor");
    private static final Set<String> CURRENT_PARAMETERS = Set.of(ACCOUNT, FEATURE, "period", "window_time_zone");
    /** RFC 3339 with seconds and the zone's offset at that instant ({@code Z} for UTC). */
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ssXXX", Locale.ROOT);
    private static final String CSV = "text/csv";
    static final String NEXT_CURSOR_HEADER = "X-Next-Cursor";

    private final QueryApiConfig config;
    private final ObjectMapper json;
    private final UsageStore store;
    private final Clock clock;
    private final ApiKeyAuthenticator authenticator;
    private final Map<String, QueryKey> keysByName;

    UsageEndpoints(QueryApiConfig config, ObjectMapper json, UsageStore store, Clock clock) {
        this.config = config;
        this.json = json;
        this.store = store;
        this.clock = clock;
        this.authenticator = new ApiKeyAuthenticator(config.keys().stream().map(QueryKey::apiKey).toList());
        this.keysByName = config.keys().stream().collect(Collectors.toMap(QueryKey::name, Function.identity()));
    }

    void usage(Context ctx) {
        QueryKey key = authenticate(ctx);
        QueryParams params = QueryParams.parse(ctx.queryString(), USAGE_PARAMETERS);
        List<String> accounts = identifiers(params, ACCOUNT);
        List<String> features = identifiers(params, FEATURE);
        accounts = readable(key, accounts);
        Instant from = time(params, "from");
        Instant to = time(params, "to");
        Windows.Size size = windowSize(params.single("window_size"));
        ZoneId zone = zone(params.single("window_time_zone"));
        if (size != Windows.Size.TOTAL && from.isBefore(to)) {
            requireWholeHourOffsets(zone, from, to);
        }
        requireWholeHour(from, "from");
        requireWholeHour(to, "to");
        if (!from.isBefore(to)) {
            throw invalid("parameter from must be before to (the range is [from, to))");
        }
        if (from.plus(config.maxRange()).isBefore(to)) {
            throw invalid("parameters from and to span more than the maximum range of " + config.maxRange().toDays() + " days ("
                    + config.maxRange() + ")");
        }
        if (size != Windows.Size.TOTAL) {
            requireWindowStart(size, zone, from, "from");
            requireWindowStart(size, zone, to, "to");
        }
        Set<String> groupBy = new LinkedHashSet<>();
        for (String group : params.list("group_by", 2)) {
            if (!group.equals(ACCOUNT) && !group.equals(FEATURE)) {
                throw invalid("parameter group_by takes billing_account_id and/or feature_code, not '" + QueryParams.printable(group) + "'");
            }
            groupBy.add(group);
        }
        int limit = limit(params.single("limit"));
        UsageQuery query = new UsageQuery(key.org(), accounts, features, from, to, size, zone, groupBy.contains(ACCOUNT), groupBy.contains(FEATURE),
                limit, null);
        String cursor = params.single("cursor");
        if (cursor != null) {
            query = new UsageQuery(query.org(), query.accounts(), query.features(), from, to, size, zone, query.byAccount(), query.byFeature(),
                    limit, Cursor.decode(json, cursor, query));
        }

        List<UsageRow> rows = store.usage(query);
        String next = null;
        if (rows.size() > limit) {
            rows = rows.subList(0, limit);
            next = Cursor.encode(json, query, rows.get(rows.size() - 1).position());
        }
        Optional<Instant> asOf = store.asOf();
        if (next != null) {
            ctx.header(NEXT_CURSOR_HEADER, next);
        }
        asOf.ifPresent(t -> ctx.header("X-As-Of", format(t, ZoneOffset.UTC)));
        if (wantsCsv(ctx)) {
            ctx.contentType("text/csv; charset=utf-8").result(csv(rows, query));
            return;
        }
        ObjectNode body = json.createObjectNode();
        body.put("from", format(from, zone));
        body.put("to", format(to, zone));
        body.put("window_size", size == Windows.Size.TOTAL ? null : size.name());
        body.put("window_time_zone", zone.getId());
        ArrayNode groups = body.putArray("group_by");
        groupBy.forEach(groups::add);
        body.put("as_of", asOf.map(t -> format(t, ZoneOffset.UTC)).orElse(null));
        ArrayNode data = body.putArray("data");
        for (UsageRow row : rows) {
            ObjectNode item = data.addObject();
            item.put("window_start", format(row.windowStart(), zone));
            item.put("window_end", format(row.windowEnd(), zone));
            if (query.byAccount()) {
                item.put(ACCOUNT, row.account());
            }
            if (query.byFeature()) {
                item.put(FEATURE, row.feature());
            }
            item.put("billable_quantity", decimal(row.billableQuantity()));
            item.put("quantity_sum", decimal(row.quantitySum()));
            item.put("reverted_quantity", decimal(row.revertedQuantity()));
            item.put("event_count", row.eventCount());
            item.put("min_value", decimal(row.minValue()));
            item.put("max_value", decimal(row.maxValue()));
            item.put("latest_value", decimal(row.latestValue()));
            item.put("latest_value_type", row.latestValueType());
            item.put("latest_event_time", format(row.latestEventTime(), ZoneOffset.UTC));
        }
        body.put("next_cursor", next);
        ctx.contentType("application/json").result(bytes(body));
    }

    void current(Context ctx) {
        QueryKey key = authenticate(ctx);
        QueryParams params = QueryParams.parse(ctx.queryString(), CURRENT_PARAMETERS);
        String account = identifier(ACCOUNT, params.required(ACCOUNT));
        String featureText = params.single(FEATURE);
        String feature = featureText == null ? null : identifier(FEATURE, featureText);
        readable(key, List.of(account));
        String periodText = params.single("period");
        Windows.Size period;
        if (periodText == null || periodText.equals("month")) {
            period = Windows.Size.MONTH;
        } else if (periodText.equals("day")) {
            period = Windows.Size.DAY;
        } else {
            throw invalid("parameter period must be day or month, not '" + QueryParams.printable(periodText) + "'");
        }
        ZoneId zone = zone(params.single("window_time_zone"));
        Instant now = clock.instant();
        Instant start = Windows.windowStart(period, zone, now);
        Instant end = Windows.nextWindowStart(period, zone, start);
        requireWholeHourOffsets(zone, start, end);

        List<UsageStore.CurrentUsage> usage = store.current(key.org(), account, feature, start, end);
        Optional<Instant> asOf = store.asOf();
        if (feature != null && usage.isEmpty()) {
            usage = List.of(new UsageStore.CurrentUsage(feature, BigDecimal.ZERO, BigDecimal.ZERO, 0, null, BigDecimal.ZERO));
        }
        ObjectNode body = json.createObjectNode();
        body.put(ACCOUNT, account);
        body.put("period", period == Windows.Size.DAY ? "day" : "month");
        body.put("window_time_zone", zone.getId());
        body.put("period_start", format(start, zone));
        body.put("period_end", format(end, zone));
        body.put("as_of", asOf.map(t -> format(t, ZoneOffset.UTC)).orElse(null));
        ArrayNode data = body.putArray("data");
        for (UsageStore.CurrentUsage item : usage) {
            ObjectNode row = data.addObject();
            row.put(FEATURE, item.feature());
            row.put("billable_quantity", decimal(item.billableQuantity()));
            row.put("quantity_sum", decimal(item.quantitySum()));
            row.put("reverted_quantity", decimal(item.revertedQuantity()));
            row.put("event_count", item.eventCount());
            row.put("latest_event_time", item.latestEventTime() == null ? null : format(item.latestEventTime(), ZoneOffset.UTC));
        }
        ctx.contentType("application/json").result(bytes(body));
    }

    private QueryKey authenticate(Context ctx) {
        return keysByName.get(authenticator.authenticate(ctx.header("X-Api-Key"), ctx.header("Authorization")).name());
    }

    /** The accounts to read: the requested ones if the key may read each (else 403), or all the key may read. */
    private static List<String> readable(QueryKey key, List<String> requested) {
        if (requested.isEmpty()) {
            return key.accounts() == null ? List.of() : key.accounts().stream().sorted().toList();
        }
        for (String account : requested) {
            if (!key.mayRead(account)) {
                throw new ApiException(ErrorKind.PERMISSION_DENIED, "this API key may not read billing account '" + QueryParams.printable(account) + "'");
            }
        }
        return requested;
    }

    private List<String> identifiers(QueryParams params, String name) {
        Set<String> result = new LinkedHashSet<>();
        for (String value : params.repeated(name, config.maxFilterValues())) {
            result.add(identifier(name, value));
        }
        return new ArrayList<>(result);
    }

    private static String identifier(String name, String value) {
        try {
            return Identifiers.normalize(name, value);
        } catch (RuleViolation e) {
            throw invalid("parameter " + e.getMessage());
        }
    }

    private static Instant time(QueryParams params, String name) {
        Instant instant;
        try {
            instant = EventTimes.parse(name, params.required(name));
        } catch (RuleViolation e) {
            throw invalid("parameter " + e.getMessage());
        }
        if (instant.isBefore(Instant.parse("1970-01-01T00:00:00Z")) || instant.isAfter(Instant.parse("9000-01-01T00:00:00Z"))) {
            throw invalid("parameter " + name + " is out of range");
        }
        return instant;
    }

    private static void requireWholeHour(Instant instant, String name) {
        if (!instant.truncatedTo(ChronoUnit.HOURS).equals(instant)) {
            throw invalid("parameter " + name + " must be a whole hour (usage is stored per UTC hour), e.g. "
                    + instant.truncatedTo(ChronoUnit.HOURS));
        }
    }

    private static Windows.Size windowSize(String text) {
        if (text == null) {
            return Windows.Size.TOTAL;
        }
        return switch (text.toUpperCase(Locale.ROOT)) {
            case "HOUR" -> Windows.Size.HOUR;
            case "DAY" -> Windows.Size.DAY;
            case "MONTH" -> Windows.Size.MONTH;
            default -> throw invalid("parameter window_size must be HOUR, DAY or MONTH (or absent for one total), not '"
                    + QueryParams.printable(text) + "'");
        };
    }

    /** The documented default, echoed as "UTC" (ZoneOffset.UTC would print as "Z"). */
    private static final ZoneId DEFAULT_ZONE = ZoneId.of("UTC");

    private static ZoneId zone(String text) {
        if (text == null) {
            return DEFAULT_ZONE;
        }
        if (text.length() > 64) {
            throw invalid("parameter window_time_zone is not an IANA time zone name");
        }
        try {
            return ZoneId.of(text);
        } catch (DateTimeException e) {
            throw invalid("parameter window_time_zone '" + QueryParams.printable(text) + "' is not an IANA time zone name like Europe/Berlin");
        }
    }

    private static void requireWholeHourOffsets(ZoneId zone, Instant from, Instant to) {
        ZoneOffset offset = Windows.firstFractionalOffset(zone, from, to);
        if (offset != null) {
            throw invalid("parameter window_time_zone: " + zone.getId() + " is at UTC" + offset.getId()
                    + " during the requested range, not a whole number of hours; its windows cannot be composed from hourly rollups");
        }
    }

    private static void requireWindowStart(Windows.Size size, ZoneId zone, Instant instant, String name) {
        Instant start = Windows.windowStart(size, zone, instant);
        if (!start.equals(instant)) {
            throw invalid("parameter " + name + " must be the start of a " + size.name().toLowerCase(Locale.ROOT) + " in " + zone.getId()
                    + " with window_size=" + size.name() + ", e.g. " + format(start, zone));
        }
    }

    private int limit(String text) {
        if (text == null) {
            return config.defaultPageSize();
        }
        try {
            int limit = Integer.parseInt(text);
            if (limit >= 1 && limit <= config.maxPageSize()) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw invalid("parameter limit must be an integer from 1 to " + config.maxPageSize());
    }

    private static boolean wantsCsv(Context ctx) {
        String accept = ctx.header("Accept");
        return accept != null && accept.toLowerCase(Locale.ROOT).contains(CSV);
    }

    private static String csv(List<UsageRow> rows, UsageQuery query) {
        StringBuilder out = new StringBuilder("window_start,window_end");
        if (query.byAccount()) {
            out.append(',').append(ACCOUNT);
        }
        if (query.byFeature()) {
            out.append(',').append(FEATURE);
        }
        out.append(",billable_quantity,quantity_sum,reverted_quantity,event_count,min_value,max_value,latest_value,latest_value_type,latest_event_time\r\n");
        for (UsageRow row : rows) {
            out.append(format(row.windowStart(), query.zone())).append(',').append(format(row.windowEnd(), query.zone()));
            if (query.byAccount()) {
                out.append(',').append(csvField(row.account()));
            }
            if (query.byFeature()) {
                out.append(',').append(csvField(row.feature()));
            }
            out.append(',').append(decimal(row.billableQuantity())).append(',').append(decimal(row.quantitySum()))
                    .append(',').append(decimal(row.revertedQuantity()))
                    .append(',').append(row.eventCount()).append(',').append(decimal(row.minValue())).append(',').append(decimal(row.maxValue()))
                    .append(',').append(decimal(row.latestValue())).append(',').append(row.latestValueType())
                    .append(',').append(format(row.latestEventTime(), ZoneOffset.UTC)).append("\r\n");
        }
        return out.toString();
    }

    /** RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. */
    static String csvField(String value) {
        if (value.indexOf(',') < 0 && value.indexOf('"') < 0 && value.indexOf('\n') < 0 && value.indexOf('\r') < 0) {
            return value;
        }
        return '"' + value.replace("\"", "\"\"") + '"';
    }

    /** Exact, without trailing zeros or exponent: "12", "0.5". */
    static String decimal(BigDecimal value) {
        return value == null ? null : value.stripTrailingZeros().toPlainString();
    }

    static String format(Instant instant, ZoneId zone) {
        return TIME.format(instant.atZone(zone));
    }

    private byte[] bytes(ObjectNode body) {
        try {
            return json.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ApiException invalid(String message) {
        return new ApiException(ErrorKind.INVALID_ARGUMENT, message);
    }
}
