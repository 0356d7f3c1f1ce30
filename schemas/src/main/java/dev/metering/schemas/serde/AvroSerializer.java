package dev.metering.schemas.serde;

import dev.metering.schemas.registry.SchemaRegistryClient;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes specific Avro records in Confluent's wire format, registering the record's schema under
 * {@code <topic>-value} (or {@code -key}). Usable from code (pass the registry) or from producer
 * properties (no-arg constructor; set {@code schema.registry.url}).
 */
public class AvroSerializer<T extends SpecificRecord> implements Serializer<T> {
    private SchemaRegistryClient registry;
    private boolean isKey;
    private final Map<Schema, DatumWriter<T>> writers = new ConcurrentHashMap<>();
    /** The schema id of the last (topic, schema) written: a producer writes one schema to one topic, record after record. */
    private volatile Registered last;
    /** One output buffer and encoder per thread, reused record after record. */
    private static final ThreadLocal<Output> OUTPUTS = ThreadLocal.withInitial(Output::new);

    private record Registered(String topic, Schema schema, int id, DatumWriter<?> writer) {
    }

    public AvroSerializer() {
    }

    public AvroSerializer(SchemaRegistryClient registry, boolean isKey) {
        this.registry = registry;
        this.isKey = isKey;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        this.isKey = isKey;
        if (registry == null) {
            registry = WireFormat.registryFrom(configs, getClass());
        }
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        if (registry == null) {
            throw new IllegalStateException(getClass().getSimpleName() + " is not configured with a schema registry");
        }
        Schema schema = data.getSchema();
        Registered registered = registered(topic, schema);
        @SuppressWarnings("unchecked")
        DatumWriter<T> writer = (DatumWriter<T>) registered.writer();
        Output out = OUTPUTS.get();
        out.start(registered.id());
        try {
            writer.write(data, out.encoder);
            out.encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("Could not encode " + schema.getFullName() + " for topic " + topic + ": " + e.getMessage(), e);
        }
        return out.finish();
    }

    /** The id and writer of the schema under the topic's subject; the registry (and its cache) only when either changed. */
    private Registered registered(String topic, Schema schema) {
        Registered known = last;
        if (known != null && known.schema() == schema && known.topic().equals(topic)) {
            return known;
        }
        int id;
        try {
            id = registry.register(WireFormat.subject(topic, isKey), schema);
        } catch (RuntimeException e) {
            throw new SerializationException("Could not register schema " + schema.getFullName() + " for topic " + topic + ": " + e.getMessage(), e);
        }
        Registered registered = new Registered(topic, schema, id, writers.computeIfAbsent(schema, SpecificDatumWriter::new));
        last = registered;
        return registered;
    }

    /**
     * A growable byte buffer without locks (ByteArrayOutputStream synchronises every write, and the encoder writes field by
     * field) with its encoder, reused by one thread. A buffer grown by a rare large record is dropped after it.
     */
    private static final class Output extends OutputStream {
        private static final int INITIAL = 512;
        private static final int KEPT = 64 * 1024;
        private byte[] bytes = new byte[INITIAL];
        private int size;
        private final BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(this, null);

        void start(int schemaId) {
            size = 0;
            write(WireFormat.MAGIC_BYTE);
            write(schemaId >>> 24);
            write(schemaId >>> 16);
            write(schemaId >>> 8);
            write(schemaId);
        }

        byte[] finish() {
            byte[] record = Arrays.copyOf(bytes, size);
            if (bytes.length > KEPT) {
                bytes = new byte[INITIAL];
            }
            return record;
        }

        @Override
        public void write(int b) {
            ensure(1);
            bytes[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, bytes, size, len);
            size += len;
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
