package dev.metering.ops;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * {@code DATABASE_URL} in the forms the sink accepts: {@code jdbc:postgresql://host:port/db[?...]} or
 * {@code postgres://user:password@host:port/db}, whose credentials become the defaults of {@code DATABASE_USER} and
 * {@code DATABASE_PASSWORD}. One parser for every service that connects to PostgreSQL.
 */
public record DatabaseTarget(String url, String user, String password) {

    public static DatabaseTarget parse(String value, String variable) {
        if (value.startsWith("jdbc:postgresql:")) {
            return new DatabaseTarget(value, null, null);
        }
        if (!value.startsWith("postgres://") && !value.startsWith("postgresql://")) {
            throw new IllegalArgumentException(variable + " must be a jdbc:postgresql://host:port/db URL or postgres://user:password@host:port/db, got "
                    + redact(value));
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(variable + " is not a valid URL: " + e.getMessage().replace(value, redact(value)));
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException(variable + " has no host: " + redact(value));
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        if (path.isEmpty() || "/".equals(path)) {
            throw new IllegalArgumentException(variable + " names no database (postgres://user:password@host:port/database): " + redact(value));
        }
        String user = null;
        String password = null;
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            password = colon < 0 ? null : decode(userInfo.substring(colon + 1));
        }
        String port = uri.getPort() < 0 ? "5432" : String.valueOf(uri.getPort());
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return new DatabaseTarget("jdbc:postgresql://" + uri.getHost() + ":" + port + path + query, user, password);
    }

    /** The URL with any password replaced by {@code ***}, for messages and logs. */
    public static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&]*", "$1***").replaceAll("//([^:/@]*):[^@/]*@", "//$1:***@");
    }

    private static String decode(String part) {
        return URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
