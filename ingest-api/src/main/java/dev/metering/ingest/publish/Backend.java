package dev.metering.ingest.publish;

import dev.metering.ingest.IngestApiConfig;
import dev.metering.ingest.kafka.KafkaEventPublisher;
import dev.metering.ingest.kafka.VerdictWaiter;
import dev.metering.schemas.registry.SchemaRegistryClient;
import java.util.function.Consumer;

/**
 * What the ingest API publishes to and reads verdicts from, created when it starts and closed when it closes:
 * Kafka in production ({@link #kafka}), fakes in the HTTP contract tests.
 */
public interface Backend {
    /** @param publishErrors told of every request whose events were not stored (for the metric) */
    EventPublisher publisher(Consumer<Throwable> publishErrors);

    VerdictSource verdicts();

    /** {@code usage-events} and {@code usage-verdicts} on the configured Kafka, Avro through the configured registry. */
    static Backend kafka(IngestApiConfig config) {
        return new Backend() {
            @Override
            public EventPublisher publisher(Consumer<Throwable> publishErrors) {
                return new KafkaEventPublisher(config.kafkaBootstrapServers(), SchemaRegistryClient.forUrl(config.schemaRegistryUrl()),
                        config.deliveryTimeout(), config.linger(), publishErrors);
            }

            @Override
            public VerdictSource verdicts() {
                return new VerdictWaiter(config.kafkaBootstrapServers()).start();
            }
        };
    }
}
