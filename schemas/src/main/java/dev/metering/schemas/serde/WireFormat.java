package dev.metering.schemas.serde;

import dev.metering.schemas.registry.SchemaRegistryClient;
import java.util.Map;

/**
 * Confluent's wire format: byte 0 is the magic byte {@code 0}, bytes 1-4 the schema id as a big-endian
 * int, the rest the Avro binary encoding of the datum under that schema.
 */
final class WireFormat {
    static final byte MAGIC_BYTE = 0;
    static final int HEADER_LENGTH = 5;
    /** {@code schema.registry.url}, as Confluent's serde calls it. */
    static final String REGISTRY_URL_CONFIG = "schema.registry.url";

    private WireFormat() {
    }

    /** The registry named by {@code schema.registry.url} in a Kafka client's configs. */
    static SchemaRegistryClient registryFrom(Map<String, ?> configs, Class<?> user) {
        Object url = configs.get(REGISTRY_URL_CONFIG);
        if (url == null) {
            throw new IllegalArgumentException(REGISTRY_URL_CONFIG + " must be set for " + user.getSimpleName());
        }
        return SchemaRegistryClient.forUrl(url.toString());
    }

    static String subject(String topic, boolean isKey) {
        // TopicNameStrategy, Confluent's default.
        return topic + (isKey ? "-key" : "-value");
    }
}
