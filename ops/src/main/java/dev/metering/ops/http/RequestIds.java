package dev.metering.ops.http;

import io.javalin.http.Context;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.MDC;

/**
 * Every request gets an id: the caller's {@code X-Request-Id} when it is a sane token, else a new UUID.
 * It is echoed in the response and put in the logging MDC as {@code requestId} (a JSON log field with
 * {@code LOG_FORMAT=json}), so one request can be followed through the logs.
 */
public final class RequestIds {
    public static final String HEADER = "X-Request-Id";
    public static final String MDC_KEY = "requestId";
    private static final String ATTRIBUTE = "metering.requestId";
    // A caller's id ends up in logs: only short tokens without control characters or spaces are taken.
    private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,100}");

    private RequestIds() {
    }

    /** Before every handler: choose the id, answer it, log with it. */
    public static void assign(Context ctx) {
        String offered = ctx.header(HEADER);
        String id = offered != null && SANE.matcher(offered).matches() ? offered : UUID.randomUUID().toString();
        ctx.attribute(ATTRIBUTE, id);
        ctx.header(HEADER, id);
        MDC.put(MDC_KEY, id);
    }

    /** The request's id, also on threads other than the one that received it. */
    public static String of(Context ctx) {
        Object id = ctx.attribute(ATTRIBUTE);
        return id == null ? "-" : id.toString();
    }

    /** After every handler: the thread goes back to the pool without the id. */
    public static void clear(Context ctx) {
        MDC.remove(MDC_KEY);
    }
}
