package dev.metering.schemas.serde;

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

    static String subject(String topic, boolean isKey) {
        // TopicNameStrategy, Confluent's default.
        return topic + (isKey ? "-key" : "-value");
    }
}
