package dev.metering.standalone;

import java.nio.file.Path;

/** What the standalone launcher hands every service: where the broker, registry and database are. */
record ServiceSettings(String kafkaBootstrapServers, String schemaRegistryUrl, String jdbcUrl, String databaseUser,
                       String databasePassword, int apiPort, int queryPort, int partitions, Path stateDir) {
}
