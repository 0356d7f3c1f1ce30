package dev.metering.ingest;

import dev.metering.aggregator.AggregatorConfig;
import dev.metering.aggregator.AggregatorService;
import dev.metering.embedded.EmbeddedKafka;
import dev.metering.schemas.TopicSetup.TopicSettings;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A running aggregator on the broker, for the ingest ITs whose answers are its verdicts (reverts, 409 on duplicates):
 * 100 ms commits, topics of two partitions. These ITs live in e2e, which has every service, so that ingest-api's own
 * build does not wait for the aggregator's.
 */
final class VerdictAggregator {
    private VerdictAggregator() {
    }

    static AggregatorService start(EmbeddedKafka kafka, String registryUrl, String applicationId, Path stateDir) {
        AggregatorService service = new AggregatorService(new AggregatorConfig(kafka.bootstrapServers(), registryUrl, applicationId, stateDir,
                Duration.ofDays(35), Duration.ofHours(48), Duration.ofMinutes(5), Duration.ofMillis(100), 1, 10L * 1024 * 1024,
                "127.0.0.1", 0, new TopicSettings(2, (short) 1, Duration.ofDays(7), Duration.ofDays(30))));
        service.start();
        return service;
    }
}
