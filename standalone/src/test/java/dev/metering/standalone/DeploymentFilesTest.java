package dev.metering.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.ingest.IngestApiConfig;
import dev.metering.ops.Env;
import dev.metering.sink.SinkConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * No Docker engine runs where the tests run, so docker-compose.yml is checked here instead: every
 * variable it sets for a service is one that service reads (a typo would otherwise be silently
 * ignored), the service's configuration accepts the values, and each service image copies the jar
 * its module builds (with its libraries beside it) and checks the health port the service listens on.
 */
class DeploymentFilesTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    /** Read by logging (ops' logback.xml), not by the service's config. */
    private static final Set<String> LOGGING_VARIABLES = Set.of("LOG_FORMAT", "LOG_LEVEL");
    private static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Z0-9_]+)(?::-([^}]*))?}");

    private static final Map<String, Consumer<Env>> CONFIGS = Map.of(
            "ingest-api", IngestApiConfig::fromEnv,
            "aggregator", AggregatorConfig::fromEnv,
            "sink", SinkConfig::fromEnv,
            "query-api", dev.metering.query.QueryApiConfig::fromEnv);
    private static final Map<String, String> HTTP_PORT_VARIABLES = Map.of(
            "ingest-api", "INGEST_HTTP_PORT", "aggregator", "AGGREGATOR_HTTP_PORT", "sink", "SINK_HTTP_PORT", "query-api", "QUERY_HTTP_PORT");

    @Test
    void everyServiceVariableInTheComposeFileIsReadAndAccepted() throws IOException {
        Map<String, Object> services = services();
        assertThat(services).containsKeys("kafka", "schema-registry", "postgres", "ingest-api", "aggregator", "sink");
        for (var entry : CONFIGS.entrySet()) {
            Map<String, String> environment = environment(services, entry.getKey());
            Env env = new Env(environment);
            assertThatCode(() -> entry.getValue().accept(env)).as("%s accepts its compose environment", entry.getKey()).doesNotThrowAnyException();
            Set<String> unread = new java.util.TreeSet<>(environment.keySet());
            unread.removeAll(env.namesRead());
            unread.removeAll(LOGGING_VARIABLES);
            assertThat(unread).as("variables set for %s in docker-compose.yml that it never reads", entry.getKey()).isEmpty();
        }
    }

    @Test
    void eachServiceImageCopiesItsJarAndChecksItsHealthPort() throws IOException {
        Map<String, Object> services = services();
        for (String service : CONFIGS.keySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> definition = (Map<String, Object>) services.get(service);
            assertThat(definition.get("build")).as("%s builds from its module", service).isEqualTo("./" + service);
            String dockerfile = Files.readString(ROOT.resolve(service).resolve("Dockerfile"));
            String pom = Files.readString(ROOT.resolve(service).resolve("pom.xml"));
            Matcher jarName = Pattern.compile("<runnable.jar.name>([^<]+)</runnable.jar.name>").matcher(pom);
            assertThat(jarName.find()).as("%s builds a runnable jar", service).isTrue();
            // the jar's manifest names its libraries as lib/..., relative to the jar
            assertThat(dockerfile).contains("COPY target/" + jarName.group(1) + ".jar /app/").contains("COPY target/lib /app/lib");
            String port = environment(services, service).get(HTTP_PORT_VARIABLES.get(service));
            assertThat(dockerfile).contains("EXPOSE " + port).contains("localhost:" + port + "/health/ready");
        }
        for (String infrastructure : List.of("kafka", "schema-registry", "postgres")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> definition = (Map<String, Object>) services.get(infrastructure);
            assertThat(definition).as("%s has a health check the services wait for", infrastructure).containsKey("healthcheck");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> services() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        return (Map<String, Object>) compose.get("services");
    }

    /** The service's environment as compose would pass it, with ${VAR:-default} taking its default. */
    @SuppressWarnings("unchecked")
    private static Map<String, String> environment(Map<String, Object> services, String service) {
        Map<String, Object> definition = (Map<String, Object>) services.get(service);
        Map<String, Object> raw = (Map<String, Object>) definition.get("environment");
        Map<String, String> environment = new HashMap<>();
        raw.forEach((name, value) -> {
            String text = String.valueOf(value);
            Matcher matcher = INTERPOLATION.matcher(text);
            StringBuilder resolved = new StringBuilder();
            while (matcher.find()) {
                matcher.appendReplacement(resolved, Matcher.quoteReplacement(matcher.group(2) == null ? "" : matcher.group(2)));
            }
            matcher.appendTail(resolved);
            environment.put(name, resolved.toString());
        });
        return environment;
    }
}
