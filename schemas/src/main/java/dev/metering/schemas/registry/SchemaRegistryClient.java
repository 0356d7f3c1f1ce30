package dev.metering.schemas.registry;

import org.apache.avro.Schema;

/**
 * The two calls the serde needs from a schema registry. Implementations cache, so callers may ask on
 * every record.
 */
public interface SchemaRegistryClient {

    /** Registers the schema under the subject (or finds it there) and returns its global id. */
    int register(String subject, Schema schema);

    /** The schema with this global id. */
    Schema schemaById(int id);

    /**
     * The client for a {@code SCHEMA_REGISTRY_URL}: {@code http(s)://host:port} for a Confluent-compatible
     * Schema Registry (several URLs may be comma-separated; the first that answers is used), or
     * {@code mem://name} for the in-memory registry of that name.
     */
    static SchemaRegistryClient forUrl(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("schema registry URL is empty; use http(s)://host:port or mem://<name>");
        }
        String trimmed = url.strip();
        if (trimmed.startsWith(InMemorySchemaRegistry.SCHEME)) {
            return InMemorySchemaRegistry.named(trimmed.substring(InMemorySchemaRegistry.SCHEME.length()));
        }
        if (trimmed.startsWith("http://") || trimmed.startsWith("https://")) {
            return new HttpSchemaRegistryClient(trimmed);
        }
        throw new IllegalArgumentException("unsupported schema registry URL '" + trimmed + "'; use http(s)://host:port or mem://<name>");
    }
}
