package dev.metering.schemas.registry;

import dev.metering.avro.Rollup;
import dev.metering.avro.RollupKey;
import dev.metering.avro.UsageEvent;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * A registry held in memory, for {@code mem://name} URLs (like Confluent's {@code mock://}): every
 * client of the same name in one JVM shares it.
 *
 * <p>Ids are derived from the schema's Avro parsing fingerprint rather than counted, so separate
 * processes that register the same schemas agree on the ids without talking to each other. That is
 * what lets the services run as separate processes against {@code mem://} in tests and demos. Every
 * registry knows the contract's own schemas ({@link #CONTRACT}) from the start, so a process can read
 * what another process wrote with them; other ids are known only once registered in this process.
 */
public final class InMemorySchemaRegistry implements SchemaRegistryClient {
    public static final String SCHEME = "mem://";
    /** The schemas of the pipeline's contract, known to every in-memory registry by id. */
    public static final List<Schema> CONTRACT = List.of(
            UsageEvent.getClassSchema(), RollupKey.getClassSchema(), Rollup.getClassSchema());
    private static final Map<String, InMemorySchemaRegistry> NAMED = new ConcurrentHashMap<>();

    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    /** The ids registered per subject; serializers ask on every record, so the answer must not cost a fingerprint. */
    private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();

    public InMemorySchemaRegistry() {
        for (Schema schema : CONTRACT) {
            schemasById.put(stableId(schema), schema);
        }
    }

    /** The shared registry of this name, created on first use. */
    public static InMemorySchemaRegistry named(String name) {
        return NAMED.computeIfAbsent(name, n -> new InMemorySchemaRegistry());
    }

    @Override
    public int register(String subject, Schema schema) {
        Integer known = idsBySubject.getOrDefault(subject, Map.of()).get(schema);
        return known != null ? known : registerNew(subject, schema);
    }

    private synchronized int registerNew(String subject, Schema schema) {
        int id = stableId(schema);
        while (schemasById.containsKey(id) && !sameSchema(schemasById.get(id), schema)) {
            id = id == Integer.MAX_VALUE ? 1 : id + 1; // a fingerprint collision: probe on, deterministically
        }
        schemasById.putIfAbsent(id, schema);
        idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, id);
        return id;
    }

    @Override
    public Schema schemaById(int id) {
        Schema schema = schemasById.get(id);
        if (schema == null) {
            throw new SchemaRegistryException("Schema " + id + " not found in the in-memory registry", 404, 40403, null);
        }
        return schema;
    }

    private static int stableId(Schema schema) {
        long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        int id = (int) (fingerprint ^ (fingerprint >>> 32)) & Integer.MAX_VALUE;
        return id == 0 ? 1 : id;
    }

    private static boolean sameSchema(Schema a, Schema b) {
        return a.equals(b);
    }
}
