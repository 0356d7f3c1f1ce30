package dev.metering.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StandaloneIT {
    @TempDir
    Path dataDir;

    @Test
    void keepsKafkaAndPostgresDataAcrossARestartWithADataDirectory() throws Exception {
        Standalone first = standalone();
        Standalone.Pipeline pipeline = first.start();
        try {
            assertThat(topics(pipeline)).contains("usage-events", "usage-rollups", "usage-events-dlq");
            try (Connection connection = DriverManager.getConnection(pipeline.jdbcUrl(), pipeline.databaseUser(), "");
                 Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE restart_probe (id int)");
                statement.execute("INSERT INTO restart_probe VALUES (42)");
            }
        } finally {
            first.stop();
        }

        Standalone second = standalone();
        Standalone.Pipeline again = second.start();
        try {
            assertThat(topics(again)).contains("usage-events", "usage-rollups", "usage-events-dlq");
            try (Connection connection = DriverManager.getConnection(again.jdbcUrl(), again.databaseUser(), "");
                 Statement statement = connection.createStatement();
                 ResultSet result = statement.executeQuery("SELECT id FROM restart_probe")) {
                assertThat(result.next()).isTrue();
                assertThat(result.getInt(1)).isEqualTo(42);
            }
        } finally {
            second.stop();
        }
        assertThat(Files.exists(dataDir.resolve("kafka"))).isTrue();
    }

    @Test
    void aPostToTheApiShowsUpInUsageHourlyWithinSeconds() throws Exception {
        Standalone standalone = standalone();
        Standalone.Pipeline pipeline = standalone.start();
        try {
            String body = """
                    {"events": [
                      {"event_id": "e-1", "billing_account_id": "acct-1", "feature_code": "api_calls", "quantity": "0.1"},
                      {"event_id": "e-2", "billing_account_id": "acct-1", "feature_code": "api_calls", "quantity": "0.2"}
                    ]}""";
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + pipeline.apiPort() + "/v1/events:batch"))
                    .header("X-Api-Key", "demo-key")
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            // the Kinde endpoint, with the demo token the banner prints
            HttpResponse<String> kinde = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + pipeline.apiPort() + "/api/v1/billing/meter_usage"))
                    .header("Authorization", "Bearer " + pipeline.demoKindeToken())
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("""
                            {"customer_agreement_id": "acct-2", "billing_feature_code": "seats", "meter_value": "1"}""")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(kinde.statusCode()).as(kinde.body()).isEqualTo(200);
            assertThat(pipeline.banner()).contains(pipeline.demoKindeToken(), "/api/v1/billing/meter_usage");

            String billable = Awaitility.await("acct-1's hour in usage_hourly").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .ignoreExceptions() // the sink may not have created the views yet
                    .until(() -> {
                        try (Connection connection = DriverManager.getConnection(pipeline.jdbcUrl(), pipeline.databaseUser(), "");
                             Statement statement = connection.createStatement();
                             ResultSet result = statement.executeQuery(
                                     "SELECT billable_quantity::text FROM usage_hourly WHERE billing_account_id = 'acct-1' AND feature_code = 'api_calls'")) {
                            return result.next() ? result.getString(1) : null;
                        }
                    }, "0.300000000000"::equals);
            assertThat(billable).isEqualTo("0.300000000000");

            // The same figure over HTTP, with the demo query key the banner prints.
            HttpResponse<String> current = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                            + pipeline.queryPort() + "/v1/usage/current?billing_account_id=acct-1&feature_code=api_calls&period=month"))
                    .header("X-Api-Key", "demo-query-key").GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(current.statusCode()).as(current.body()).isEqualTo(200);
            assertThat(current.body()).contains("\"billable_quantity\":\"0.3\"");
            assertThat(pipeline.banner()).contains("demo-query-key", "/v1/usage/current");
        } finally {
            standalone.stop();
        }
    }

    private Standalone standalone() {
        Standalone standalone = new Standalone();
        standalone.dataDir = dataDir;
        standalone.kafkaPort = 0;
        standalone.postgresPort = 0;
        standalone.apiPort = 0;
        standalone.queryPort = 0;
        standalone.partitions = 2;
        standalone.environment = Map.of("AGGREGATOR_HTTP_PORT", "0", "SINK_HTTP_PORT", "0");
        return standalone;
    }

    private static Set<String> topics(Standalone.Pipeline pipeline) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, pipeline.kafkaBootstrapServers()))) {
            return admin.listTopics().names().get(60, TimeUnit.SECONDS);
        }
    }
}
