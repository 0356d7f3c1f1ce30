package dev.metering.standalone;

import dev.metering.ops.Env;
import dev.metering.query.QueryApi;
import dev.metering.query.QueryApiConfig;
import dev.metering.query.ReadOnlyRole;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The query API of standalone: it reads PostgreSQL through a login role of its own that may only read (never the
 * sink's owner role), created here with a random password, and offers a demo key for the default tenant when no
 * query keys are configured.
 */
final class QueryAccess {
    static final String ROLE = "metering_query_api";
    static final String DEMO_QUERY_KEY = "demo:demo-query-key:default";

    /** @param demoKey whether the demo key (demo-query-key, default tenant) is on */
    record Started(QueryApi api, int port, boolean demoKey) {
    }

    private QueryAccess() {
    }

    /** @param databaseUser the owner role (the sink's), or null when the URL carries the credentials */
    static Started start(String jdbcUrl, String databaseUser, String databasePassword, int queryPort, Map<String, String> environment) {
        PGSimpleDataSource owner = new PGSimpleDataSource();
        owner.setURL(jdbcUrl);
        if (databaseUser != null) {
            owner.setUser(databaseUser);
            owner.setPassword(databasePassword);
        }
        byte[] secret = new byte[18];
        new SecureRandom().nextBytes(secret);
        String password = HexFormat.of().formatHex(secret);
        ReadOnlyRole.createLoginRole(owner, ROLE, password);

        Map<String, String> variables = new HashMap<>(environment);
        // pgjdbc lets user= and password= in the URL override the role given apart, so they must not be there.
        variables.put("DATABASE_URL", withoutCredentials(jdbcUrl));
        variables.put("DATABASE_USER", ROLE);
        variables.put("DATABASE_PASSWORD", password);
        variables.put("QUERY_HTTP_PORT", String.valueOf(queryPort));
        boolean demo = !variables.containsKey("QUERY_API_KEYS") && !variables.containsKey("QUERY_API_KEYS_FILE");
        if (demo) {
            variables.put("QUERY_API_KEYS", DEMO_QUERY_KEY);
        }
        QueryApi api = new QueryApi(QueryApiConfig.fromEnv(new Env(variables))).start();
        return new Started(api, api.port(), demo);
    }

    /** The JDBC URL without its user and password parameters. */
    static String withoutCredentials(String jdbcUrl) {
        int query = jdbcUrl.indexOf('?');
        if (query < 0) {
            return jdbcUrl;
        }
        StringBuilder kept = new StringBuilder();
        for (String parameter : jdbcUrl.substring(query + 1).split("&")) {
            String name = parameter.contains("=") ? parameter.substring(0, parameter.indexOf('=')) : parameter;
            if (!name.equalsIgnoreCase("user") && !name.equalsIgnoreCase("password") && !parameter.isEmpty()) {
                kept.append(kept.length() == 0 ? "?" : "&").append(parameter);
            }
        }
        return jdbcUrl.substring(0, query) + kept;
    }
}
